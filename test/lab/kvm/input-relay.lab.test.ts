// Keyboard follows the GPU (issue 12), on a real kernel: L1 gets a virtio keyboard from the outer
// QEMU, this test types into it through the outer QEMU's QMP (input-send-event), and the real
// input relay (app/host/input) runs in L1 against it: EVIOCGRAB, a uinput twin with the copied
// capabilities, the chord detected and swallowed; then QEMU's input-linux object on the twin feeds
// a nested guest (L2, tiny kernel), whose own evdev node reports the keys on its serial console.
// Last, a stand-in helper holding a relay is SIGKILLed: L1 gets its keyboard back.
// One L1 boot; everything inside runs in one node process (test/lab/kvm/input-lab.ts).
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { QmpClient } from '../../../app/backends/qmp/client.js';
import { KEY_CODES } from '../../../app/domain/input/codes.js';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { describeRun, runInL1, shareDirOf } from '../lib/l1.js';
import { l1BootUnderLoad } from '../lib/l2-boot.js';
import { REPO_ROOT } from '../lib/paths.js';
import { buildTinyKernel, tinyKernelUnavailable } from '../lib/tiny-kernel.js';
import { workstation } from '../lib/topology.js';

interface Key { code: number; value: number }
interface Latency { frames: number; p50Us: number | null; p99Us: number | null; maxUs: number | null }
interface Results {
  error?: string;
  realNode: string;
  baseline: { l1Keys: Key[] };
  relay: { devices: { name: string; node: string }[]; twinName: string; twinKeyBits: string; realKeyBits: string; typed: Key[]; twinKeys: Key[]; l1KeysWhileGrabbed: Key[]; l1EventsWhileGrabbed: number; chords: number };
  objectAdd: { execute: string; arguments: Record<string, unknown> };
  guest: { objects: { name: string; type: string }[]; typed: Key[]; l2Keys: Key[]; l2Node: string | null; twinEventsWhileQemuHeldIt: number; l1EventsWhileInGuest: number; chords: number; objectsAfterDel: unknown[] };
  stopped: { latency: Latency | null; lost: string[]; twinLeft: string[]; l1Keys: Key[] };
  killed: { holderDevices: { name: string; node: string }[]; twinsWhileHeld: string[]; l1EventsWhileHeld: number; twinsAfterKill: string[]; l1KeysAfterKill: Key[] };
  ms: number;
}
interface Entry { id: string; requestedBy: string; from: string; to: string; outcome: string; finalOwner: string; steps: { name: string; outcome: string; ms: number }[] }
interface HelperResults {
  error?: string;
  into: { result: { outcome: string; owner: string; error?: string }; entry?: Entry; twins: string[]; guestSawGpu: boolean };
  inGuest: { l2Keys: Key[]; l1Events: number };
  chord: { entry: Entry; l1KeysAfter: Key[]; l2KeysOfChord: Key[]; owner?: string; twinsAfter: string[]; guestHasGpu: boolean };
  killed: { again: string; twinsBeforeKill: string[]; twinsAfterKill: string[]; l1AfterKill: Key[]; twinsAfterRestart: string[]; l2KeysAfterRestart: Key[]; l1EventsAfterRestart: number; helperLog: string[] };
  home: { outcome: string; twins: string[] };
}

const NAME = 'kvm-input-relay';
const KEY = { a: 30, h: 35, k: 37, q: 16, w: 17, x: 45, y: 21, z: 44, LEFTCTRL: 29, RIGHTCTRL: 97 };
const { gpuA, gpuAAudio } = workstation.roles as Record<'gpuA' | 'gpuAAudio', string>;
const downUp = (code: number): Key[] => [{ code, value: 1 }, { code, value: 0 }];
/** Presses and releases only: a key the loaded emulated machine stamps as held past 250 ms also gets the kernel's autorepeats (value 2). */
const p = (keys: Key[] | undefined): Key[] => (keys ?? []).filter((k) => k.value !== 2);
const unavailable = kvmLabUnavailable() ?? tinyKernelUnavailable() ?? buildProject();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A key press the typist sent: its kernel code and when input-send-event returned (this clock). */
interface Sent { code: number; atMs: number }
/** A key press the nested guest reported on its serial console, and when the line showed here. */
interface Seen { code: number; atMs: number }
const qcodeCode = (qcode: string): number | undefined => KEY_CODES[`KEY_${qcode.toUpperCase()}`] ?? (qcode === 'spc' ? KEY_CODES.KEY_SPACE : undefined);

/**
 * Key-down → the nested guest, end to end on this machine's clock: from the moment the outer QEMU
 * has taken a press (input-send-event returned) to the moment L2's line for it ("l2-key eventN CODE
 * 1", printed by its /init's evdev reader) appears in the serial log, which L2's QEMU writes through
 * the 9p share to this host's disk. Polled every 5 ms. It covers L1's virtio keyboard, the relay,
 * the uinput twin, L2's QEMU (input-linux), L2's kernel and its reader, all under (nested) TCG.
 */
function watchGuestKeys(serialLog: string, done: () => boolean): Promise<Seen[]> {
  const seen: Seen[] = [];
  let consumed = 0;
  return new Promise((resolve) => {
    const tick = () => {
      if (existsSync(serialLog)) {
        // Only what is new since the last tick, and whole lines only: a line still being written
        // is read on the next tick.
        const fd = openSync(serialLog, 'r');
        const size = fstatSync(fd).size;
        const fresh = Buffer.alloc(Math.max(0, size - consumed));
        if (fresh.length) readSync(fd, fresh, 0, fresh.length, consumed);
        closeSync(fd);
        const text = fresh.toString('latin1');
        const end = text.lastIndexOf('\n') + 1;
        consumed += end;
        for (const line of text.slice(0, end).split(/\r?\n/)) {
          const m = /^l2-key event\d+ (\d+) 1$/.exec(line);
          if (m) seen.push({ code: Number(m[1]), atMs: performance.now() });
        }
      }
      if (done()) resolve(seen);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

/**
 * Each guest-reported press matched to the last press of that key sent before it. Not first in
 * first out: most presses never reach the guest (everything typed while L1 or the bare twin had the
 * keyboard, the chord), and the keys the guest does get are not repeated within a phase (e f g, x
 * y, w), so the last earlier press of the key is the one it reports.
 */
function guestLatencies(sent: Sent[], seen: Seen[]): number[] {
  return seen.flatMap((g) => {
    const s = sent.filter((x) => x.code === g.code && x.atMs <= g.atMs).at(-1);
    return s ? [g.atMs - s.atMs] : [];
  });
}

/**
 * Sends the key events the job asks for (share/type/N.req) through the outer QEMU's QMP, one
 * input-send-event per event, and answers with N.done. Runs until `done()` says so.
 */
async function typist(share: string, socketPath: string, done: () => boolean, sent: Sent[] = []): Promise<number> {
  let qmp: QmpClient | undefined;
  while (!qmp && !done()) {
    try { qmp = await QmpClient.connect({ socketPath, vm: 'L1', commandTimeoutMs: 10_000 }); } catch { await sleep(200); }
  }
  let served = 0;
  try {
    while (qmp && !done()) {
      const dir = join(share, 'type');
      const next = readdirSync(dir).filter((f) => /^\d+\.req$/.test(f) && !existsSync(join(dir, f.replace(/req$/, 'done')))).sort((a, b) => parseInt(a) - parseInt(b))[0];
      if (!next) { await sleep(100); continue; }
      // A step is one key event, or a list of them sent in one command (one frame in the guest).
      for (const step of JSON.parse(readFileSync(join(dir, next), 'utf8')) as ([string, boolean] | [string, boolean][])[]) {
        const events = (typeof step[0] === 'string' ? [step] : step) as [string, boolean][];
        await qmp.execute('input-send-event', { events: events.map(([key, down]) => ({ type: 'key', data: { down, key: { type: 'qcode', data: key } } })) });
        const atMs = performance.now();
        for (const [key, down] of events) {
          const code = qcodeCode(key);
          if (down && code !== undefined) sent.push({ code, atMs });
        }
        await sleep(15);
      }
      writeFileSync(join(dir, next.replace(/req$/, 'done')), '');
      served++;
    }
  } finally {
    qmp?.close();
  }
  return served;
}

describeOrSkip(unavailable, 'KVM lab: the input relay on a real kernel, into a nested guest', () => {
  let r: Results;
  let h: HelperResults;
  let jobStatus: string;

  beforeAll(async () => {
    const tiny = await buildTinyKernel();
    const socket = `/tmp/baton-lab-input-${process.pid}.qmp`;
    let finished = false;
    const running = runInL1({
      name: NAME,
      topology: workstation,
      boot: l1BootUnderLoad,
      extraArgs: ['-device', 'virtio-keyboard-pci,id=lab-kbd,bus=pcie.0,addr=0x5', '-qmp', `unix:${socket},server=on,wait=off`],
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/input-relay-job.sh')],
      env: { GPU_A: gpuA, GPU_A_AUDIO: gpuAAudio, TINY_BZIMAGE: tiny.bzImage, TINY_INITRD: tiny.initrd },
      deadlineMs: 1_200_000,
    });
    mkdirSync(join(shareDirOf(NAME), 'type'), { recursive: true });
    const sent: Sent[] = [];
    const typed = typist(shareDirOf(NAME), socket, () => finished, sent);
    const guestSaw = watchGuestKeys(join(shareDirOf(NAME), 'l2-serial.log'), () => finished);
    const run = await running.finally(() => { finished = true; });
    const requests = await typed;
    const toGuest = guestLatencies(sent, await guestSaw).sort((a, b) => a - b);
    const at = (q: number) => toGuest[Math.min(toGuest.length - 1, Math.floor(q * toGuest.length))]?.toFixed(0);
    process.stdout.write(`[input-relay] key-down → nested guest's evdev reader (input-send-event returned → its serial line on this host's disk, L1 and L2 under TCG): ${toGuest.length} presses, p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms\n`);
    const file = join(run.shareDir, 'results.json');
    if (!existsSync(file)) throw new Error(`no results.json\n${describeRun(run)}`);
    r = JSON.parse(readFileSync(file, 'utf8')) as Results;
    process.stdout.write(`[input-relay] L1 run ${run.qemu.durationMs} ms, ${requests} typing requests, job ${r.ms ?? '?'} ms, status ${run.status}\n`);
    if (r.error) throw new Error(`the relay phase failed: ${r.error}\n${describeRun(run)}`);
    const helperFile = join(run.shareDir, 'helper.json');
    h = (existsSync(helperFile) ? JSON.parse(readFileSync(helperFile, 'utf8')) : { error: `no helper.json\n${describeRun(run)}` }) as HelperResults;
    jobStatus = run.status === 0 ? 'ok' : describeRun(run);
    const l = r.stopped.latency;
    process.stdout.write(`[input-relay] relay latency (kernel event timestamp → write to uinput returned, CLOCK_MONOTONIC, L1 under TCG): ${l?.frames} frames, p50 ${l?.p50Us} µs, p99 ${l?.p99Us} µs, max ${l?.maxUs} µs\n`);
  }, 2_400_000);

  it('without the relay, L1 reads the keys the outer QEMU types on its virtio keyboard', () => {
    expect(p(r.baseline.l1Keys)).toEqual(downUp(KEY.a));
  });

  it('the relay grabs the keyboard: L1 reads nothing, its twin "Baton: QEMU Virtio Keyboard" (same key capabilities) emits every key but the chord', () => {
    expect(r.relay.twinName).toBe('Baton: QEMU Virtio Keyboard');
    expect(r.relay.twinKeyBits).toBe(r.relay.realKeyBits);
    expect(r.relay.devices[0]?.node).not.toBe(r.realNode);
    expect(r.relay.l1EventsWhileGrabbed).toBe(0);
    expect(p(r.relay.twinKeys)).toEqual(r.relay.typed);
    expect(r.relay.twinKeys.map((k) => k.code)).not.toContain(KEY.LEFTCTRL);
    expect(r.relay.twinKeys.map((k) => k.code)).not.toContain(KEY.RIGHTCTRL);
    expect(r.relay.chords).toBe(1);
  });

  it('QEMU takes the twin with object-add input-linux (grab-toggle ctrl-ctrl), and the nested guest reads the keys on its own evdev node, without the chord', () => {
    expect(r.objectAdd.arguments).toMatchObject({ 'qom-type': 'input-linux', id: 'baton-input-kbd', evdev: r.relay.devices[0]?.node, 'grab-toggle': 'ctrl-ctrl', repeat: false });
    expect(r.guest.objects).toEqual([{ name: 'baton-input-kbd', type: 'child<input-linux>' }]);
    expect(r.guest.l2Node).toMatch(/^event\d+$/);
    expect(p(r.guest.l2Keys)).toEqual(r.guest.typed);
    expect(r.guest.chords).toBe(1);
    expect(r.guest.l1EventsWhileInGuest).toBe(0);
    // QEMU grabbed the twin in turn: L1's reader of the twin got nothing either.
    expect(r.guest.twinEventsWhileQemuHeldIt).toBe(0);
    expect(r.guest.objectsAfterDel).toEqual([]);
  });

  it('stopping the relay gives L1 its keyboard back, removes the twin, and reports its own latency', () => {
    expect(r.stopped.twinLeft).toEqual([]);
    expect(r.stopped.lost).toEqual([]);
    expect(p(r.stopped.l1Keys)).toEqual(downUp(KEY.h));
    const l = r.stopped.latency;
    expect(l?.frames).toBeGreaterThanOrEqual(r.relay.typed.length);
    expect(l?.p50Us).not.toBeNull();
    expect(l?.p99Us).not.toBeNull();
  });

  it('a helper killed while it relays leaves L1 with its keyboard: the grab and the twin die with the relay', () => {
    expect(r.killed.twinsWhileHeld).toEqual(['Baton: QEMU Virtio Keyboard']);
    expect(r.killed.l1EventsWhileHeld).toBe(0);
    expect(r.killed.twinsAfterKill).toEqual([]);
    expect(p(r.killed.l1KeysAfterKill)).toEqual(downUp(KEY.k));
  });

  // --- through the real helper daemon: the switch's move-input step, the chord, a kill, recovery
  it('the helper phase ran to its end', () => {
    expect(h.error ?? null).toBeNull();
  });

  it('switching GPU A into vm-a moves the keyboard with it (move-input step): the keys reach vm-a\'s evdev node, not L1', () => {
    expect(h.into.result).toMatchObject({ outcome: 'succeeded', owner: 'vm-a' });
    expect(h.into.entry?.steps.map((s) => `${s.name}:${s.outcome}`)).toEqual(['claim:ok', 'reset:ok', 'vbios:ok', 'attach:ok', 'move-input:ok', 'verify:ok']);
    expect(h.into.twins).toEqual(['Baton: QEMU Virtio Keyboard']);
    expect(h.into.guestSawGpu).toBe(true);
    expect(p(h.inGuest.l2Keys)).toEqual([...downUp(KEY.x), ...downUp(KEY.y)]);
    expect(h.inGuest.l1Events).toBe(0);
  });

  it('the chord brings the GPU home as the helper\'s own switch (requestedBy chord, with its steps); vm-a never sees the chord; L1 gets its keys again', () => {
    expect(h.chord.entry).toMatchObject({ requestedBy: 'chord', from: 'vm-a', to: 'host', outcome: 'succeeded', finalOwner: 'host' });
    expect(h.chord.entry.steps.map((s) => `${s.name}:${s.outcome}`)).toEqual(['move-input:ok', 'release:ok', 'return-to-host:ok', 'verify:ok']);
    expect(h.chord.owner).toBe('host');
    expect(h.chord.l2KeysOfChord).toEqual([]);
    expect(h.chord.twinsAfter).toEqual([]);
    expect(h.chord.guestHasGpu).toBe(false);
    expect(p(h.chord.l1KeysAfter)).toEqual(downUp(KEY.z));
  });

  it('a helper SIGKILLed while it relays leaves L1 with its keyboard; the restarted helper gives vm-a the keyboard again', () => {
    expect(h.killed.again).toBe('succeeded');
    expect(h.killed.twinsBeforeKill).toEqual(['Baton: QEMU Virtio Keyboard']);
    expect(h.killed.twinsAfterKill).toEqual([]);
    expect(p(h.killed.l1AfterKill)).toEqual(downUp(KEY.q));
    expect(h.killed.twinsAfterRestart).toEqual(['Baton: QEMU Virtio Keyboard']);
    expect(p(h.killed.l2KeysAfterRestart)).toEqual(downUp(KEY.w));
    expect(h.killed.l1EventsAfterRestart).toBe(0);
    expect(h.home).toEqual({ outcome: 'succeeded', twins: [] });
  });

  it('the job ended cleanly', () => {
    expect(jobStatus).toBe('ok');
  });
});
