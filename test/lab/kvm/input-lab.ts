// Runs inside L1 (compiled into dist/ with the project), in ONE node process (node starts slowly
// under TCG): the real input relay against L1's virtio keyboard, which the test on the host types
// into through the outer QEMU's QMP (input-send-event). Writes results.json to OUT.
//
//   node dist/test/lab/kvm/input-lab.js L2_QMP_SOCKET L2_SERIAL_LOG
//
// Typing is asked of the host through the results share (9p, cache=none both ways):
// OUT/type/N.req holds one JSON array of [qcode, down] pairs; the host answers with OUT/type/N.done
// once it has sent them.
//
// Phases (each records what L1's own reader of the real event node, the virtual twin's reader, the
// relay and the nested guest saw):
//   baseline  no relay: L1's reader gets the keys
//   relay     the relay holds the keyboard (EVIOCGRAB): L1's reader gets nothing, the twin gets the
//             keys but not the chord, which the relay reports
//   guest     QEMU's input-linux object on the twin in L2: L2's evdev node gets the keys (its serial
//             log), not the chord, and neither L1 reader gets anything
//   stopped   the relay stopped (its latency figures): L1's reader gets the keys again
//   killed    a stand-in helper that holds a relay is SIGKILLed: its child lets go, L1 gets its keys
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpClient } from '../../../app/backends/qmp/client.js';
import { grabToggleFor, inputLinuxAdd, inputLinuxDel, inputObjectId } from '../../../app/backends/qmp/input-object.js';
import { KEY_CODES } from '../../../app/domain/input/codes.js';
import { decodeEvents, INPUT_EVENT_SIZE } from '../../../app/domain/input/event.js';
import { createInputRelay } from '../../../app/host/input/relay.js';
import { inputDeviceNames } from './input-sysfs.js';

const OUT = process.env.OUT ?? process.env.LAB_SHARE ?? '.';
const [l2Qmp, l2Serial] = process.argv.slice(2) as [string, string];
const KBD_NAME = 'QEMU Virtio Keyboard';
const LINK = '/dev/input/by-id/lab-virtio-keyboard-event-kbd';
const CHORD_NAMES = ['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'];
const CHORD = CHORD_NAMES.map((k) => KEY_CODES[k] as number);

const stamp = () => new Date().toISOString().slice(11, 23);
const log = (line: string) => process.stdout.write(`[${stamp()}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false, deadlineMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The evdev node of the input device with this name (sysfs), e.g. "/dev/input/event3". */
function eventNodeNamed(name: string): string | undefined {
  for (const e of readdirSync('/sys/class/input').filter((n) => /^event\d+$/.test(n))) {
    try {
      if (readFileSync(`/sys/class/input/${e}/device/name`, 'utf8').trim() === name) return `/dev/input/${e}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // gone since the listing
    }
  }
  return undefined;
}

const inputNames = inputDeviceNames;

/** A reader of an evdev node in its own process (`cat`), as any program of L1 would read it. */
class NodeReader {
  private readonly chunks: Buffer[] = [];
  readonly proc: ChildProcess;
  constructor(readonly node: string) {
    this.proc = spawn('cat', [node], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc.stdout!.on('data', (b: Buffer) => this.chunks.push(b));
  }
  /** Key events (code, value) read so far, from event index `from`. */
  keys(from = 0): { code: number; value: number }[] {
    const all = Buffer.concat(this.chunks);
    const whole = all.subarray(0, all.length - (all.length % INPUT_EVENT_SIZE));
    return decodeEvents(whole).slice(from).filter((e) => e.type === 1).map(({ code, value }) => ({ code, value }));
  }
  get count(): number {
    return Math.floor(Buffer.concat(this.chunks).length / INPUT_EVENT_SIZE);
  }
  stop(): void {
    this.proc.kill();
  }
}

let request = 0;
/** Asks the host to send these key events through the outer QEMU's QMP; resolves once it has. */
/** One key event, or several sent in one input-send-event command. */
type Step = [string, boolean] | [string, boolean][];
async function send(events: Step[]): Promise<void> {
  const n = ++request;
  mkdirSync(join(OUT, 'type'), { recursive: true });
  writeFileSync(join(OUT, 'type', `${n}.req.tmp`), JSON.stringify(events));
  // The host polls for *.req: the rename makes it appear whole.
  renameSync(join(OUT, 'type', `${n}.req.tmp`), join(OUT, 'type', `${n}.req`));
  await waitFor(`the host to type request ${n}`, () => existsSync(join(OUT, 'type', `${n}.done`)), 60_000);
}
const tap = (...keys: string[]): Step[] => keys.flatMap((k): Step[] => [[k, true], [k, false]]);
/**
 * The default return chord: both Ctrl keys down in one input-send-event (one frame, as a person
 * pressing both at once; sent apart, a loaded emulated L1 can stamp them past the detector's 300 ms
 * hold bound), then both up. A nested array is one command.
 */
const CHORD_PRESS: Step[] = [[['ctrl', true], ['ctrl_r', true]], [['ctrl_r', false], ['ctrl', false]]];

/** Kernel key codes of the qcodes the test types. */
const CODE: Record<string, number> = Object.fromEntries('abcdefghijklmnopqrstuvwxyz'.split('').map((l) => [l, KEY_CODES[`KEY_${l.toUpperCase()}`] as number]));
const spaceQcode = 'spc';
CODE[spaceQcode] = KEY_CODES.KEY_SPACE as number;
const downUp = (...keys: string[]) => keys.flatMap((k) => [{ code: CODE[k]!, value: 1 }, { code: CODE[k]!, value: 0 }]);

// The serial console ends its lines with CR LF: a line's last field would otherwise carry the CR.
function l2Keys(): string[] {
  return existsSync(l2Serial) ? readFileSync(l2Serial, 'utf8').split(/\r?\n/).filter((l) => l.startsWith('l2-key ')) : [];
}

async function main(): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const real = await waitFor(`the ${KBD_NAME} event node`, () => eventNodeNamed(KBD_NAME), 30_000);
  mkdirSync('/dev/input/by-id', { recursive: true });
  if (!existsSync(LINK)) symlinkSync(`../${real.split('/').pop()}`, LINK);
  r.realNode = real;
  log(`real keyboard ${real}, linked as ${LINK}`);

  // --- baseline: nobody relays, L1's reader gets the keys
  const l1 = new NodeReader(real);
  await sleep(500); // cat has the node open before the keys come
  await send(tap('a'));
  await waitFor('KEY_A on L1 reader', () => l1.keys().some((k) => k.code === CODE.a && k.value === 0), 20_000);
  r.baseline = { l1Keys: l1.keys() };

  // --- relay: grab, twin, chord
  let chords = 0;
  const lost: string[] = [];
  const relay = await createInputRelay().start({ devices: [{ name: 'kbd', path: LINK }], chord: CHORD, readyDeadlineMs: 30_000, onChord: () => { chords++; log('chord'); }, onLost: (n) => lost.push(n) });
  const twin = relay.devices[0]!.node;
  const twinSys = `/sys/class/input/${twin.split('/').pop()}/device`;
  r.relay = { devices: relay.devices, twinName: readFileSync(`${twinSys}/name`, 'utf8').trim(), twinKeyBits: readFileSync(`${twinSys}/capabilities/key`, 'utf8').trim(), realKeyBits: readFileSync(`/sys/class/input/${real.split('/').pop()}/device/capabilities/key`, 'utf8').trim() };
  log(`relay ready: ${JSON.stringify(relay.devices)}`);
  const twinReader = new NodeReader(twin);
  await sleep(500);
  const l1Mark = l1.count;
  const text = 'the quick brown fox jumps over the lazy dog'.split('').map((c) => (c === ' ' ? spaceQcode : c));
  await send([...tap(...text), ...CHORD_PRESS, ...tap('d')]);
  await waitFor('the last d on the twin', () => twinReader.keys().filter((k) => k.code === CODE.d && k.value === 0).length >= 2, 30_000);
  await sleep(500); // anything late would show now
  Object.assign(r.relay as object, { typed: downUp(...text, 'd'), twinKeys: twinReader.keys(), l1KeysWhileGrabbed: l1.keys(l1Mark), l1EventsWhileGrabbed: l1.count - l1Mark, chords });

  // --- guest: QEMU's input-linux object on the twin, in L2
  const serial = () => (existsSync(l2Serial) ? readFileSync(l2Serial, 'utf8') : '');
  await waitFor('L2 to boot', () => /^l2-ready/m.test(serial()), 600_000);
  // Its /init lists the evdev nodes one by one (slow under nested TCG) and starts a reader for
  // each: wait for the keyboard's own line, then give its reader a moment to open the node.
  await waitFor("L2's keyboard on evdev (its l2-input line)", () => /^l2-input event\d+ .*keyboard/im.test(serial()), 120_000);
  await sleep(3000);
  log(`L2 ready: ${serial().split(/\r?\n/).filter((l) => l.startsWith('l2-input')).join('; ')}`);
  const qmp = await QmpClient.connect({ socketPath: l2Qmp, vm: 'l2', commandTimeoutMs: 30_000 });
  const toggle = grabToggleFor(CHORD_NAMES);
  const add = inputLinuxAdd({ id: inputObjectId('kbd'), evdev: twin, ...(toggle && { grabToggle: toggle }) });
  await qmp.execute(add.execute, add.arguments);
  r.objectAdd = add;
  const objects = await qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/objects' });
  await sleep(1000);
  const twinMark = twinReader.count;
  const l2Mark = l2Keys().length;
  const l1GuestMark = l1.count;
  const chordsBefore = chords;
  await send([...tap('e', 'f'), ...CHORD_PRESS, ...tap('g')]);
  await waitFor('KEY_G released in L2', () => l2Keys().slice(l2Mark).some((l) => l.split(' ')[2] === String(CODE.g) && l.split(' ')[3] === '0'), 120_000);
  await sleep(1000);
  const l2Lines = l2Keys().slice(l2Mark);
  r.guest = {
    objects: objects.filter((o) => o.type.includes('input-linux')),
    typed: downUp('e', 'f', 'g'),
    l2Keys: l2Lines.map((l) => { const [, , code, value] = l.split(' '); return { code: Number(code), value: Number(value) }; }),
    l2Node: l2Lines[0]?.split(' ')[1] ?? null,
    twinEventsWhileQemuHeldIt: twinReader.count - twinMark,
    l1EventsWhileInGuest: l1.count - l1GuestMark,
    chords: chords - chordsBefore,
  };
  const del = inputLinuxDel(inputObjectId('kbd'));
  await qmp.execute(del.execute, del.arguments);
  const objectsAfter = await qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/objects' });
  (r.guest as Record<string, unknown>).objectsAfterDel = objectsAfter.filter((o) => o.type.includes('input-linux'));
  qmp.close();
  twinReader.stop();

  // --- stopped: the grab released, the twin gone
  const latency = await relay.stop();
  r.stopped = { latency, lost, twinLeft: inputNames().filter((n) => n.startsWith('Baton: ')) };
  const l1StopMark = l1.count;
  await send(tap('h'));
  await waitFor('KEY_H on L1 reader after the relay stopped', () => l1.keys().some((k) => k.code === CODE.h), 20_000);
  Object.assign(r.stopped as object, { l1Keys: decodeEventsFrom(l1, l1StopMark) });

  // --- killed: a helper stand-in that holds the relay dies by SIGKILL
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `
    import { createInputRelay } from ${JSON.stringify(new URL('../../../app/host/input/relay.js', import.meta.url).href)};
    const h = await createInputRelay().start({ devices: [{ name: 'kbd', path: ${JSON.stringify(LINK)} }], chord: ${JSON.stringify(CHORD)}, readyDeadlineMs: 30000, onChord() {}, onLost() {} });
    process.stdout.write(JSON.stringify(h.devices) + '\\n');
    setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let holderOut = '';
  holder.stdout!.on('data', (b: Buffer) => { holderOut += b.toString(); });
  await waitFor('the stand-in helper to hold the relay', () => holderOut.includes('\n'), 60_000);
  const twinsWhileHeld = inputNames().filter((n) => n.startsWith('Baton: '));
  const killMark = l1.count;
  await send(tap('j'));
  await sleep(1500);
  const l1WhileHeld = l1.count - killMark;
  holder.kill('SIGKILL');
  await waitFor('the relay child to let go (its twin gone)', () => !inputNames().some((n) => n.startsWith('Baton: ')), 20_000);
  const afterKill = l1.count;
  await send(tap('k'));
  await waitFor('KEY_K on L1 reader after the kill', () => l1.keys().some((k) => k.code === CODE.k), 20_000);
  r.killed = { holderDevices: JSON.parse(holderOut) as unknown, twinsWhileHeld, l1EventsWhileHeld: l1WhileHeld, twinsAfterKill: inputNames().filter((n) => n.startsWith('Baton: ')), l1KeysAfterKill: decodeEventsFrom(l1, afterKill) };
  l1.stop();
  return r;
}

function decodeEventsFrom(reader: NodeReader, from: number): { code: number; value: number }[] {
  return reader.keys(from);
}

const t0 = Date.now();
main().then((r) => {
  writeFileSync(join(OUT, 'results.json'), JSON.stringify({ ...r, ms: Date.now() - t0 }, null, 1));
  log(`done in ${Date.now() - t0} ms`);
  process.exit(0);
}, (err: unknown) => {
  writeFileSync(join(OUT, 'results.json'), JSON.stringify({ error: err instanceof Error ? err.stack : String(err) }, null, 1));
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
