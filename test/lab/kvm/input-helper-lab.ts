// Runs inside L1 after input-lab.ts (compiled into dist/): issue 12 end to end through the real
// helper daemon. GPU A moves into the nested VM (vm-a: QMP, the tiny kernel) with the virtio
// keyboard following it (the switch's move-input step); the host types through the outer QEMU;
// the keys reach vm-a's evdev node and not L1; the return chord brings the GPU home as the helper's
// own switch (requestedBy chord) and L1 gets its keys again. Then the helper is SIGKILLed while it
// relays (L1 gets its keyboard back) and restarted (recovery gives vm-a the keyboard again).
//
//   node dist/test/tools/input-helper-lab.js L2_QMP_SOCKET L2_SERIAL_LOG
// Environment: OUT, GPU_A, GPU_A_AUDIO, LAB_REPO. Writes OUT/helper.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectHelper } from '../../../app/protocol/helper-client.js';
import { KEY_CODES } from '../../../app/domain/input/codes.js';
import { decodeEvents, INPUT_EVENT_SIZE } from '../../../app/domain/input/event.js';
import { inputDeviceNames } from './input-sysfs.js';

const OUT = process.env.OUT ?? process.env.LAB_SHARE ?? '.';
const [l2Qmp, l2Serial] = process.argv.slice(2) as [string, string];
const GPU_A = process.env.GPU_A!;
const GPU_A_AUDIO = process.env.GPU_A_AUDIO!;
const BATON = join(process.env.LAB_REPO!, 'bin/baton');
const LINK = '/dev/input/by-id/lab-virtio-keyboard-event-kbd';
const L = '/run/baton-lab';
const CFG = `${L}/etc/baton.yaml`;
const SOCK = `${L}/helper.sock`;
const STATE = `${L}/state`;

const stamp = () => new Date().toISOString().slice(11, 23);
const log = (line: string) => process.stdout.write(`[${stamp()}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, deadlineMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

const CODE = (l: string) => KEY_CODES[`KEY_${l.toUpperCase()}`] as number;

class NodeReader {
  private readonly chunks: Buffer[] = [];
  constructor(node: string) {
    const proc = spawn('cat', [node], { stdio: ['ignore', 'pipe', 'inherit'] });
    proc.stdout.on('data', (b: Buffer) => this.chunks.push(b));
    this.stop = () => proc.kill();
  }
  readonly stop: () => void;
  get count(): number { return Math.floor(Buffer.concat(this.chunks).length / INPUT_EVENT_SIZE); }
  keys(from = 0): { code: number; value: number }[] {
    const all = Buffer.concat(this.chunks);
    return decodeEvents(all.subarray(0, all.length - (all.length % INPUT_EVENT_SIZE))).slice(from).filter((e) => e.type === 1).map(({ code, value }) => ({ code, value }));
  }
}

let request = 1000; // input-lab.ts numbers its requests from 1
/** One key event, or several sent in one input-send-event command. */
type Step = [string, boolean] | [string, boolean][];
async function send(events: Step[]): Promise<void> {
  const n = ++request;
  writeFileSync(join(OUT, 'type', `${n}.req.tmp`), JSON.stringify(events));
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

const l2Lines = (prefix: string) => (existsSync(l2Serial) ? readFileSync(l2Serial, 'utf8').split(/\r?\n/).filter((l) => l.startsWith(prefix)) : []);
const l2Keys = (from: number) => l2Lines('l2-key ').slice(from).map((l) => { const [, , code, value] = l.split(' '); return { code: Number(code), value: Number(value) }; });
const l2HasGpu = () => /=0x1234:0x1111/.test(l2Lines('l2-pci ').at(-1) ?? '');
const twins = () => inputDeviceNames().filter((n) => n.startsWith('Baton: '));

let helpers = 0;
function startHelper(): { proc: ChildProcess; logFile: string; up: Promise<void> } {
  helpers++;
  const logFile = join(OUT, `helper-${helpers}.log`);
  const fd = openSync(logFile, 'w');
  const proc = spawn(process.execPath, [BATON, 'helper', '--config', CFG, '--socket', SOCK], { stdio: ['ignore', fd, fd] });
  const up = waitFor(`helper ${helpers} to listen`, () => readFileSync(logFile, 'utf8').includes('listening on'), 180_000).then(() => undefined);
  return { proc, logFile, up };
}

async function call<T>(method: string, params?: unknown): Promise<T> {
  const client = await connectHelper(SOCK, { connectTimeoutMs: 30_000 });
  try {
    return await (client.call as (m: string, p?: unknown) => Promise<unknown>)(method, params) as T;
  } finally {
    client.close();
  }
}

interface Entry { id: string; requestedBy: string; from: string; to: string; outcome: string; finalOwner: string; steps: { name: string; outcome: string; ms: number }[] }
const history = async () => (await call<{ entries: Entry[] }>('history', { limit: 20 })).entries;

function writeConfig(): void {
  mkdirSync(`${L}/etc`, { recursive: true });
  mkdirSync(STATE, { recursive: true });
  chmodSync(L, 0o755);
  chmodSync(`${L}/etc`, 0o755);
  writeFileSync(CFG, `version: 1
helper:
  socket: ${SOCK}
  group: root
  vbiosStore: ${STATE}/vbios
  journal: ${STATE}/journal.json
  history:
    file: ${STATE}/history.jsonl
gpus:
  - name: gpu-a
    match:
      address: "${GPU_A}"
    reset: hot_reset
    movablePeers: ["${GPU_A_AUDIO}"]
    inputs: [kbd]
vms:
  - name: vm-a
    backend: qmp
    socket: ${l2Qmp}
    release:
      method: hot-unplug
      timeoutSeconds: 60
    acquire: hot-plug
    guestSlot:
      bus: rp1
      addr: 0
inputs:
  devices:
    - { name: kbd, path: ${LINK} }
  returnChord:
    keys: [KEY_LEFTCTRL, KEY_RIGHTCTRL]
    action: host
`);
  chownSync(CFG, 0, 0);
  chmodSync(CFG, 0o644);
  writeFileSync(join(OUT, 'baton.yaml'), readFileSync(CFG));
}

async function main(): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const real = `/dev/input/${readlinkSync(LINK).split('/').pop()}`;
  writeConfig();
  const l1 = new NodeReader(real);
  let helper = startHelper();
  await helper.up;
  log('helper 1 up');

  // --- into vm-a, keyboard along
  const into = await call<{ switchId: string; outcome: string; owner: string; error?: string }>('switch', { gpu: 'gpu-a', target: 'vm-a', requestedBy: 'cli' });
  log(`switch into vm-a: ${JSON.stringify(into)}`);
  r.into = { result: into, entry: (await history()).find((e) => e.id === into.switchId), twins: twins() };
  await waitFor('vm-a to see the GPU', () => l2HasGpu(), 120_000).catch((err: Error) => log(err.message));
  (r.into as Record<string, unknown>).guestSawGpu = l2HasGpu();
  let l1Mark = l1.count;
  let l2Mark = l2Lines('l2-key ').length;
  await send(tap('x', 'y'));
  await waitFor('KEY_Y released in vm-a', () => l2Keys(l2Mark).some((k) => k.code === CODE('y') && k.value === 0), 60_000).catch((err: Error) => log(err.message));
  await sleep(500);
  r.inGuest = { l2Keys: l2Keys(l2Mark), l1Events: l1.count - l1Mark };

  // --- the chord: home
  l2Mark = l2Lines('l2-key ').length;
  await send(CHORD_PRESS);
  const chordEntry = await waitFor('the chord\'s switch in the history', async () => (await history()).find((e) => e.requestedBy === 'chord'), 180_000);
  log(`chord switch: ${JSON.stringify(chordEntry)}`);
  l1Mark = l1.count;
  await send(tap('z'));
  await waitFor('KEY_Z on L1 after the chord', () => l1.keys(l1Mark).some((k) => k.code === CODE('z')), 30_000).catch((err: Error) => log(err.message));
  // The guest's own list changes when its /init next looks (seconds under nested TCG).
  await waitFor('vm-a to lose the GPU after the chord', () => !l2HasGpu(), 120_000).catch((err: Error) => log(err.message));
  const status = await call<{ gpus: { name: string; owner: string }[] }>('status');
  r.chord = { entry: chordEntry, l1KeysAfter: l1.keys(l1Mark), l2KeysOfChord: l2Keys(l2Mark), owner: status.gpus.find((g) => g.name === 'gpu-a')?.owner, twinsAfter: twins(), guestHasGpu: l2HasGpu() };

  // --- killed while relaying, then recovered
  const again = await call<{ outcome: string }>('switch', { gpu: 'gpu-a', target: 'vm-a', requestedBy: 'cli' });
  const twinsBeforeKill = twins();
  helper.proc.kill('SIGKILL');
  await new Promise((resolve) => helper.proc.once('exit', resolve));
  await waitFor('the relay child to let go after the kill', () => twins().length === 0, 30_000).catch((err: Error) => log(err.message));
  const twinsAfterKill = twins();
  l1Mark = l1.count;
  await send(tap('q'));
  await waitFor('KEY_Q on L1 after the kill', () => l1.keys(l1Mark).some((k) => k.code === CODE('q')), 30_000).catch((err: Error) => log(err.message));
  const l1AfterKill = l1.keys(l1Mark);
  helper = startHelper();
  await helper.up;
  log('helper 2 up');
  await waitFor('the relay back after recovery', () => twins().length > 0, 60_000).catch((err: Error) => log(err.message));
  l1Mark = l1.count;
  l2Mark = l2Lines('l2-key ').length;
  await send(tap('w'));
  await waitFor('KEY_W released in vm-a after recovery', () => l2Keys(l2Mark).some((k) => k.code === CODE('w') && k.value === 0), 60_000).catch((err: Error) => log(err.message));
  await sleep(500);
  r.killed = { again: again.outcome, twinsBeforeKill, twinsAfterKill, l1AfterKill, twinsAfterRestart: twins(), l2KeysAfterRestart: l2Keys(l2Mark), l1EventsAfterRestart: l1.count - l1Mark, helperLog: readFileSync(helper.logFile, 'utf8').split('\n').slice(0, 30) };

  // --- home, and the helper stops
  const home = await call<{ outcome: string }>('switch', { gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
  r.home = { outcome: home.outcome, twins: twins() };
  helper.proc.kill('SIGTERM');
  await new Promise((resolve) => helper.proc.once('exit', resolve));
  l1.stop();
  return r;
}

const t0 = Date.now();
main().then((r) => {
  writeFileSync(join(OUT, 'helper.json'), JSON.stringify({ ...r, ms: Date.now() - t0 }, null, 1));
  log(`done in ${Date.now() - t0} ms`);
  process.exit(0);
}, (err: unknown) => {
  writeFileSync(join(OUT, 'helper.json'), JSON.stringify({ error: err instanceof Error ? err.stack : String(err) }, null, 1));
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
