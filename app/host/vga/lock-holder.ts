// One long-lived child process per GPU that holds the VGA arbiter's lock for it (see arbiter.ts for
// why a child at all). Starting node costs tens of milliseconds on hardware and over a second under
// emulation, so the child is started at the GPU's first handoff and kept: later handoffs send it a
// line. Like a kernel lane, a child stuck in the kernel's uninterruptible "lock" is killed and
// forgotten (it exits once the kernel lets go) and the next handoff starts a fresh one.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { PciAddress } from '../../domain/pci-address.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

/** The child: "lock" waits (polling the other VGA devices) until none holds a lock, then locks on
 * its own open file; "unlock" closes that file, which lets go of every lock it held. */
const HOLDER_CHILD = `
const fs = require('node:fs');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let fd = null;
const release = () => { if (fd !== null) { try { fs.closeSync(fd); } catch {} fd = null; } };
const state = () => { const b = Buffer.alloc(256); const n = fs.readSync(fd, b, 0, b.length, null); return b.subarray(0, n).toString('utf8').trim(); };
const lockedElsewhere = (others) => {
  for (const other of others) {
    try { fs.writeSync(fd, 'target PCI:' + other); } catch { continue; }
    const s = state();
    if (!/,locks=none/.test(s)) return s;
  }
  return null;
};
async function lock(req) {
  release();
  fd = fs.openSync(req.path, 'r+');
  for (let busy = lockedElsewhere(req.others); busy !== null; busy = lockedElsewhere(req.others)) {
    if (Date.now() >= req.deadline) { release(); return { busy }; }
    await new Promise((r) => setTimeout(r, 20));
  }
  fs.writeSync(fd, 'target PCI:' + req.target);
  fs.writeSync(fd, 'lock io+mem');
  return { held: state(), pid: process.pid };
}
const rl = require('node:readline').createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    const req = JSON.parse(line);
    try {
      say(req.op === 'lock' ? await lock(req) : (release(), { unlocked: true }));
    } catch (e) {
      release();
      say({ error: e.code || e.message });
    }
  });
});
rl.on('close', () => { release(); process.exit(0); });
`;

export interface LockRequest {
  path: string;
  target: PciAddress;
  /** The other VGA devices, whose locks the holder waits out before it locks. */
  others: readonly string[];
  /** Epoch ms: past it, the holder answers busy instead of locking. */
  deadline: number;
}

export type LockAnswer = { held: string; pid: number } | { busy: string } | { error: string } | { noAnswer: true };

type HolderChild = ChildProcessByStdio<Writable, Readable, null>;

/** A fresh child gets this long to start node on top of the deadline (seconds when emulated). */
const START_ALLOWANCE_MS = 30_000;
/** A warm child answers within this much of the deadline unless it is stuck in the kernel. */
const WARM_ALLOWANCE_MS = 3_000;
const UNLOCK_DEADLINE_MS = 5_000;

class Holder {
  private readonly lines: Interface;
  private readonly waiting: ((line: string | null) => void)[] = [];
  private gone = false;
  started = false;

  constructor(readonly child: HolderChild) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    child.once('exit', () => {
      this.gone = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
    child.on('error', () => undefined);
    // A write to a child that just died fails with EPIPE; its exit ends every wait.
    child.stdin.on('error', () => undefined);
    // Like the kernel lanes: a held child never keeps the helper or a CLI run alive, and it exits
    // when its stdin closes, which is when the helper exits.
    child.unref();
    for (const stream of [child.stdin, child.stdout]) (stream as unknown as { unref?: () => void }).unref?.();
  }

  alive(): boolean {
    return !this.gone && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends one request and waits for its answer line, or null (no answer in time, or the child went away). */
  ask(request: object, withinMs: number): Promise<string | null> {
    if (!this.alive()) return Promise.resolve(null);
    // Waiting out another device's lock, or the kernel's: not Baton's own time.
    return waitedOn(new Promise((done) => {
      const timer = setTimeout(() => finish(null), withinMs);
      const finish = (line: string | null): void => {
        clearTimeout(timer);
        const at = this.waiting.indexOf(finish);
        if (at >= 0) this.waiting.splice(at, 1);
        done(line);
      };
      this.waiting.push(finish);
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    }));
  }

  kill(): void {
    this.child.kill('SIGKILL');
    this.lines.close();
  }
}

/** The VGA lock holders of one helper (or one CLI run), one per GPU, started on first use. */
export class VgaLockHolders {
  private readonly holders = new Map<PciAddress, Holder>();
  /** Per GPU, when the last hold() asked for ends: the next one waits for it (the child's file holds one lock). */
  private readonly turns = new Map<PciAddress, Promise<void>>();

  private holderFor(gpu: PciAddress): Holder {
    const known = this.holders.get(gpu);
    if (known?.alive()) return known;
    const child = spawn(process.execPath, ['-e', HOLDER_CHILD], { stdio: ['pipe', 'pipe', 'ignore'] });
    const holder = new Holder(child);
    this.holders.set(gpu, holder);
    return holder;
  }

  /** Locks io+mem for the GPU, or says why not; never waits much past the request's deadline. */
  async lock(req: LockRequest): Promise<LockAnswer> {
    const holder = this.holderFor(req.target);
    const allowance = holder.started ? WARM_ALLOWANCE_MS : START_ALLOWANCE_MS;
    const line = await holder.ask({ op: 'lock', ...req }, Math.max(0, req.deadline - Date.now()) + allowance);
    if (line === null) {
      // Stuck in "lock" (it lost a race to another device) or gone: never reused.
      this.forget(req.target, holder);
      return { noAnswer: true };
    }
    holder.started = true;
    return JSON.parse(line) as LockAnswer;
  }

  /** Lets go of the GPU's lock. A holder that does not confirm is killed: its file closes with it. */
  async unlock(gpu: PciAddress): Promise<void> {
    const holder = this.holders.get(gpu);
    if (!holder) return;
    const line = await holder.ask({ op: 'unlock' }, UNLOCK_DEADLINE_MS);
    if (line === null) this.forget(gpu, holder);
  }

  /**
   * Locks, runs `work` with the answer, and always lets go. One at a time per GPU (the engine runs
   * one handoff per GPU already; this keeps it so): a second waits for the first, up to its deadline.
   */
  async hold<T>(req: LockRequest, work: (answer: LockAnswer) => Promise<T>): Promise<T> {
    const previous = this.turns.get(req.target) ?? Promise.resolve();
    let done!: () => void;
    const mine = Promise.all([previous, new Promise<void>((resolve) => (done = resolve))]).then(() => undefined);
    this.turns.set(req.target, mine);
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, req.deadline - Date.now()))));
      if ((await Promise.race([previous, late])) === 'late') return await work({ busy: `another handoff of ${req.target} held the lock past the deadline` });
      try {
        return await work(await this.lock(req));
      } finally {
        await this.unlock(req.target);
      }
    } finally {
      clearTimeout(timer);
      done();
      if (this.turns.get(req.target) === mine) this.turns.delete(req.target);
    }
  }

  /** The holder's process id, for tests and diagnostics; null when none runs for the GPU. */
  pidOf(gpu: PciAddress): number | null {
    const holder = this.holders.get(gpu);
    return holder?.alive() ? (holder.child.pid ?? null) : null;
  }

  close(): void {
    for (const [gpu, holder] of this.holders) this.forget(gpu, holder);
  }

  private forget(gpu: PciAddress, holder: Holder): void {
    holder.kill();
    if (this.holders.get(gpu) === holder) this.holders.delete(gpu);
  }
}
