// The input relay's child process: one per GPU in a VM, for the inputs that follow that GPU.
// Holding the grab in a child means a helper that dies (or a relay that wedges) never keeps the
// host's keyboard: the grab and the virtual devices die with the process (the kernel releases an
// EVIOCGRAB and destroys a uinput device when its fd closes). The parent closing our stdin is the
// order to stop.
//
// argv[2]: JSON { devices: [{ name, path }], chord: [key codes] }.
// stdout: JSON lines {type: "ready", devices: [{name, node}]}, {type: "chord"}, {type: "lost", name},
// {type: "error", message}, and last, when told to stop, {type: "stopped", latency} (its own time
// per event, domain/input/latency.ts).
//
// Runs for real in the KVM lab (test/lab/kvm/input-relay.lab.test.ts): the build machines have no
// /dev/uinput and no keyboard.
import { readdirSync } from 'node:fs';
import { KEY_CODES } from '../../domain/input/codes.js';
import { uinputDescription } from '../../domain/input/capabilities.js';
import { decodeEvents, encodeEvents, eventMicros, INPUT_EVENT_SIZE } from '../../domain/input/event.js';
import { RelayLatency } from '../../domain/input/latency.js';
import { createUinputDevice, destroyUinputDevice, grab, readCapabilities, useMonotonicClock } from '../../../native/evdev.js';
import { O_NONBLOCK, O_WRONLY, POLLERR, POLLHUP, POLLIN, POLLNVAL, pollFds, readFd, writeFd } from '../../../native/fdio.js';
import { closeFd, O_RDONLY, openPath } from '../../../native/libc.js';
import { GuestKeyState, RelayCore, type RelayOutput } from './relay-core.js';

interface ChildArgs {
  devices: { name: string; path: string }[];
  chord: number[];
}

const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** The /dev/input/eventN of a uinput device, from its sysfs name ("input42"). */
function eventNode(sysname: string): string {
  const event = readdirSync(`/sys/devices/virtual/input/${sysname}`).find((e) => /^event[0-9]+$/.test(e));
  if (!event) throw new Error(`uinput device ${sysname} has no event node`);
  return `/dev/input/${event}`;
}

function main(args: ChildArgs): void {
  const real: number[] = [];
  const twins: number[] = [];
  const cleanup = () => {
    for (const fd of twins) { try { destroyUinputDevice(fd); } catch { /* closing destroys it too */ } closeFd(fd); }
    for (const fd of real) closeFd(fd); // closing releases the grab
  };
  try {
    const specs = args.devices.map((d) => {
      const fd = openPath(d.path, O_RDONLY | O_NONBLOCK);
      real.push(fd);
      useMonotonicClock(fd);
      const caps = readCapabilities(fd);
      const twin = openPath('/dev/uinput', O_WRONLY | O_NONBLOCK);
      twins.push(twin);
      const node = eventNode(createUinputDevice(twin, uinputDescription(caps)));
      return { name: d.name, node, watchesChord: args.chord.every((k) => caps.keys.includes(k)) };
    });
    // Grab last: until every twin exists, the host keeps its input untouched.
    real.forEach((fd) => grab(fd, true));
    say({ type: 'ready', devices: specs.map(({ name, node }) => ({ name, node })) });
    const latency = loop(args, specs, real, twins);
    say({ type: 'stopped', latency: latency.summary() });
  } catch (err) {
    say({ type: 'error', message: (err as Error).message });
    cleanup();
    process.exit(1);
  }
  cleanup();
  process.exit(0);
}

/** Microseconds of CLOCK_MONOTONIC, the clock the real devices stamp their events with. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

function loop(args: ChildArgs, specs: { name: string; watchesChord: boolean }[], real: number[], twins: number[]): RelayLatency {
  const core = new RelayCore(specs, args.chord);
  const guest = twins.map(() => new GuestKeyState());
  const latency = new RelayLatency();
  const buf = Buffer.alloc(64 * INPUT_EVENT_SIZE);
  const apply = (out: RelayOutput, readStartMicros = Infinity) => {
    for (const w of out.writes) {
      const twin = twins[w.device];
      if (twin === undefined) continue;
      writeFd(twin, encodeEvents(w.events));
      latency.written(w.events, readStartMicros, monotonicMicros());
      guest[w.device]?.written(w.events);
    }
    if (out.chord) say({ type: 'chord' });
  };
  for (;;) {
    const live = real.map((fd, i) => (core.isLost(i) ? -1 : fd)); // poll ignores negative fds
    const revents = pollFds([...live, 0], core.holding ? 20 : 1000);
    const stdin = revents.at(-1) ?? 0;
    if (stdin & (POLLIN | POLLHUP | POLLERR)) return latency; // the parent closed our stdin, or died
    live.forEach((fd, i) => {
      const r = revents[i] ?? 0;
      if (fd < 0 || r === 0) return;
      const n = r & POLLIN ? readFd(fd, buf) : 'ENODEV';
      if (typeof n === 'number' && n > 0) {
        const events = decodeEvents(buf.subarray(0, n));
        return apply(core.events(i, events), Math.min(...events.map(eventMicros)));
      }
      if (n === 'EAGAIN' || n === 'EINTR') return;
      if (r & (POLLERR | POLLHUP | POLLNVAL) || typeof n === 'string' || n === 0) {
        apply(core.lost(i, guest[i]?.keys() ?? []));
        say({ type: 'lost', name: specs[i]?.name });
      }
    });
    apply(core.tick(monotonicMicros()));
  }
}

// Entry: only when run as the child, never when imported.
if (process.argv[2] !== undefined && process.env.BATON_INPUT_RELAY_CHILD === '1') {
  const args = JSON.parse(process.argv[2]) as ChildArgs;
  if (!args.chord.length) args.chord = [KEY_CODES.KEY_LEFTCTRL as number, KEY_CODES.KEY_RIGHTCTRL as number];
  main(args);
}
