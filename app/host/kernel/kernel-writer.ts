// Kernel writes (sysfs, /dev/vga_arbiter), the VFIO hot-reset ioctl and the ROM read, each under a
// deadline and never in the helper's main thread. A sysfs write can block inside the kernel
// indefinitely (unbinding a device a VM still holds), uninterruptibly once signalled, and a blocked
// call cannot be cancelled from the thread that issued it. So each GPU has its own small child
// process (a lane): a call stuck for GPU A wedges A's lane alone, and GPU B's calls go on in B's.
//
// A call that misses its deadline is not assumed to have failed: it may still land in the kernel.
// Its lane is then wedged: every later call for that GPU fails at once with code EWEDGED, until the
// stuck child is gone (it answered late and was retired, or it was abandoned and exited). The
// timeout error carries `settled`, which says how the stuck call really ended.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import type { PciAddress } from '../../domain/pci-address.js';
import { bindSyscalls } from '../../../native/syscalls.js';
import { hotResetSequence } from '../../../native/vfio.js';
import { toggleRom } from '../rom/toggle.js';
import type { KernelCallInProgress } from '../sysfs/device-locks.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface KernelWrite {
  path: string;
  value: string;
  deadlineMs?: number;
}

/** Calls that run in a lane's child besides writes. */
export type LaneCall =
  | { op: 'rom'; path: string; maxBytes: number }
  | { op: 'hot-reset'; group: number; device: string; devDir: string };

/** How a call that missed its deadline really ended. */
export type LateOutcome =
  | { kind: 'completed' }
  | { kind: 'failed'; code: string }
  /** The child exited before it answered (killed, or died): whether the call landed is unknown. */
  | { kind: 'child-gone' };

export interface LaneWedge {
  gpu: PciAddress;
  /** What is stuck, in words ("writing "0000:01:00.0" to /sys/bus/pci/drivers/vfio-pci/unbind"). */
  stuck: string;
  since: Date;
  settled: Promise<LateOutcome>;
  /** Resolves once the stuck child is gone and the lane takes calls again. */
  cleared: Promise<void>;
}

/** One GPU's writer: its calls run one at a time in its own child process. */
export interface KernelLane {
  readonly gpu: PciAddress;
  write(req: KernelWrite): Promise<void>;
  /** Runs a ROM read or a hot reset in the child; rejects with KernelWriteError (code = errno name). */
  call(req: LaneCall, deadlineMs: number, what: string): Promise<unknown>;
  /** Non-null while a call that missed its deadline still runs. */
  wedge(): LaneWedge | null;
  /** The call in the kernel now (in flight, or wedged), or null when the lane is idle. */
  activity(): KernelCallInProgress | null;
}

/** The port: every privileged kernel call goes through the lane of the GPU it is for. */
export interface KernelWriter {
  forGpu(gpu: PciAddress): KernelLane;
  /** Every wedged lane. */
  wedged(): LaneWedge[];
  /** Every lane's call in the kernel now: in flight or wedged (what the inventory must not wait on). */
  inProgress(): KernelCallInProgress[];
  /** Kills a wedged lane's child (it exits once the kernel lets go); the lane works again after. */
  abandon(gpu: PciAddress): void;
  close(): void;
}

export class KernelWriteError extends Error {
  constructor(
    readonly path: string,
    readonly value: string,
    readonly code: string,
    readonly detail: string,
    /** The call in words, when it is not a plain write. */
    action?: string,
  ) {
    super(`${action ?? `writing ${JSON.stringify(value.trim())} to ${path}`} failed: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'KernelWriteError';
  }
}

/** The call missed its deadline. `wedged`: it was in the kernel, may still land, and its lane is wedged. */
export class KernelWriteTimeout extends KernelWriteError {
  constructor(
    path: string,
    value: string,
    readonly deadlineMs: number,
    readonly wedged = false,
    readonly settled: Promise<LateOutcome> | null = null,
    action?: string,
    /** The GPU whose lane it was. */
    readonly gpu: PciAddress | null = null,
  ) {
    super(path, value, 'ETIMEDOUT', wedged
      ? `no answer from the kernel within ${deadlineMs} ms; the call may still be blocked in the kernel and land later`
      : `not started within ${deadlineMs} ms: an earlier call for the same GPU was still running`, action);
    this.name = 'KernelWriteTimeout';
  }
}

/** code EWEDGED: the GPU's lane has a call stuck in the kernel; nothing more is sent until it is gone. */
export class KernelWriterWedged extends KernelWriteError {
  constructor(path: string, value: string, readonly gpu: PciAddress, readonly wedge: LaneWedge, action?: string) {
    super(path, value, 'EWEDGED', `the kernel writer of ${gpu} is wedged since ${wedge.since.toISOString()}: ${wedge.stuck} never returned`, action);
    this.name = 'KernelWriterWedged';
  }
}

export const DEFAULT_WRITE_DEADLINE_MS = 10_000;

// The child: one JSON request per line, one JSON answer per line. Plain JS so it runs from source
// and from dist alike; the ROM sequence, the hot-reset ioctls and the libc binding are the very
// functions the rest of the code uses, inserted by their source text (each is self-contained).
const CHILD = `
const fs = require('node:fs');
const koffiPath = process.argv[1];
const toggleRom = (${toggleRom.toString()});
const hotResetSequence = (${hotResetSequence.toString()});
const bindSyscalls = (${bindSyscalls.toString()});
let sys = null;
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  let answer;
  try {
    if (req.op === 'write') {
      const fd = fs.openSync(req.path, 'w');
      try { fs.writeSync(fd, req.value); } finally { fs.closeSync(fd); }
      answer = { id: req.id, ok: true };
    } else if (req.op === 'rom') {
      const out = toggleRom(fs, req.path, req.maxBytes);
      answer = { id: req.id, ok: true, result: { ...out, data: out.data ? Buffer.from(out.data).toString('base64') : undefined } };
    } else if (req.op === 'hot-reset') {
      sys = sys || bindSyscalls(require(koffiPath));
      answer = { id: req.id, ok: true, result: hotResetSequence(sys, req.group, req.device, req.devDir) };
    } else {
      answer = { id: req.id, ok: false, code: 'EINVAL', message: 'unknown call ' + req.op };
    }
  } catch (e) {
    answer = { id: req.id, ok: false, code: e.code || 'EIO', message: e.message };
  }
  process.stdout.write(JSON.stringify(answer) + '\\n');
});
`;

const ERRNO_TEXT: Record<string, string> = {
  EBUSY: 'device or resource busy', ENODEV: 'no such device, or not bound to that driver', EINVAL: 'invalid argument',
  ENOTTY: 'no working method', EIO: 'input/output error', EPERM: 'operation not permitted', EACCES: 'permission denied',
  ENOENT: 'no such file', EAGAIN: 'probe deferred, try again', EEXIST: 'already exists', EPROTO: 'protocol error',
};

interface Job {
  id: number;
  request: Record<string, unknown>;
  path: string;
  value: string;
  action: string | undefined;
  deadlineMs: number;
  /** When it was sent to the child (set by pump). */
  sentAt: Date | null;
  timer: NodeJS.Timeout;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

interface Stuck {
  job: Job;
  wedge: LaneWedge;
  settle: (outcome: LateOutcome) => void;
  clear: () => void;
}

let koffiPath: string | undefined;
function koffiModulePath(): string {
  // The child loads koffi only for a hot reset; it cannot resolve it from -e, so the parent does.
  koffiPath ??= (() => {
    try {
      return createRequire(import.meta.url).resolve('koffi');
    } catch {
      return 'koffi';
    }
  })();
  return koffiPath;
}

class ChildLane implements KernelLane {
  private child: ChildProcessWithoutNullStreams | null = null;
  private nextId = 1;
  private readonly queue: Job[] = [];
  private inflight: Job | null = null;
  private stuck: Stuck | null = null;

  constructor(readonly gpu: PciAddress, private readonly defaultDeadlineMs: number) {}

  wedge(): LaneWedge | null {
    return this.stuck?.wedge ?? null;
  }

  activity(): KernelCallInProgress | null {
    if (this.stuck) return { gpu: this.gpu, what: this.stuck.wedge.stuck, since: this.stuck.wedge.since, wedged: true };
    const job = this.inflight;
    if (!job) return null;
    return { gpu: this.gpu, what: job.action ?? `writing ${JSON.stringify(job.value.trim())} to ${job.path}`, since: job.sentAt ?? new Date(), wedged: false };
  }

  write(req: KernelWrite): Promise<void> {
    return this.send({ op: 'write', path: req.path, value: req.value }, req.path, req.value, req.deadlineMs ?? this.defaultDeadlineMs, undefined).then(() => undefined);
  }

  call(req: LaneCall, deadlineMs: number, what: string): Promise<unknown> {
    const path = req.op === 'rom' ? req.path : `${req.devDir}/${req.group}`;
    return this.send({ ...req }, path, req.op, deadlineMs, what);
  }

  private send(request: Record<string, unknown>, path: string, value: string, deadlineMs: number, action: string | undefined): Promise<unknown> {
    if (this.stuck) return Promise.reject(new KernelWriterWedged(path, value, this.gpu, this.stuck.wedge, action));
    // The kernel's time (and the lane's IPC) is a wait on the device, not Baton's own.
    return waitedOn(new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, request, path, value, action, deadlineMs, sentAt: null, resolve, reject, timer: setTimeout(() => this.expire(job), deadlineMs) };
      this.queue.push(job);
      this.pump();
    }));
  }

  /** One call at a time: a call queued behind a stuck one is never sent late. */
  private pump(): void {
    if (this.inflight || this.stuck) return;
    const job = this.queue.shift();
    if (!job) return;
    this.inflight = job;
    job.sentAt = new Date();
    this.ensureChild().stdin.write(JSON.stringify({ id: job.id, ...job.request }) + '\n');
  }

  private expire(job: Job): void {
    if (job !== this.inflight) {
      const at = this.queue.indexOf(job);
      if (at >= 0) this.queue.splice(at, 1);
      job.reject(new KernelWriteTimeout(job.path, job.value, job.deadlineMs, false, null, job.action, this.gpu));
      return;
    }
    let settle!: (outcome: LateOutcome) => void;
    let clear!: () => void;
    const settled = new Promise<LateOutcome>((resolve) => (settle = resolve));
    const cleared = new Promise<void>((resolve) => (clear = resolve));
    const stuck = job.action ?? `writing ${JSON.stringify(job.value.trim())} to ${job.path}`;
    this.stuck = { job, settle, clear, wedge: { gpu: this.gpu, stuck, since: new Date(), settled, cleared } };
    job.reject(new KernelWriteTimeout(job.path, job.value, job.deadlineMs, true, settled, job.action, this.gpu));
    for (const queued of this.queue.splice(0)) {
      clearTimeout(queued.timer);
      queued.reject(new KernelWriterWedged(queued.path, queued.value, this.gpu, this.stuck.wedge, queued.action));
    }
  }

  private ensureChild(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(process.execPath, ['-e', CHILD, koffiModulePath()], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: child.stdout }).on('line', (line) => this.answer(child, line));
    child.on('exit', () => this.exited(child));
    child.on('error', () => this.exited(child));
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    this.child = child;
    return child;
  }

  private answer(child: ChildProcessWithoutNullStreams, line: string): void {
    let msg: { id: number; ok: boolean; code?: string; message?: string; result?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (this.stuck?.job.id === msg.id) {
      // The late answer: the call did land (or fail). Retire this child; the lane works again once it is gone.
      this.stuck.settle(msg.ok ? { kind: 'completed' } : { kind: 'failed', code: msg.code ?? 'EIO' });
      child.kill('SIGKILL');
      return;
    }
    const job = this.inflight;
    if (!job || job.id !== msg.id) return;
    this.inflight = null;
    clearTimeout(job.timer);
    if (msg.ok) job.resolve(msg.result);
    else job.reject(new KernelWriteError(job.path, job.value, msg.code ?? 'EIO', ERRNO_TEXT[msg.code ?? ''] ?? msg.message ?? '', job.action));
    this.pump();
  }

  private exited(child: ChildProcessWithoutNullStreams): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.stuck) {
      const { settle, clear } = this.stuck;
      this.stuck = null;
      this.inflight = null;
      settle({ kind: 'child-gone' }); // no-op when it answered late first
      clear();
    }
    const job = this.inflight;
    if (job) {
      this.inflight = null;
      clearTimeout(job.timer);
      job.reject(new KernelWriteError(job.path, job.value, 'EPIPE', 'the kernel-writer process exited', job.action));
    }
    this.pump();
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }

  close(): void {
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.timer);
      job.reject(new KernelWriteError(job.path, job.value, 'EPIPE', 'the kernel writer was closed', job.action));
    }
    this.kill();
  }
}

export class ChildKernelWriter implements KernelWriter {
  private readonly lanes = new Map<PciAddress, ChildLane>();

  constructor(private readonly defaultDeadlineMs = DEFAULT_WRITE_DEADLINE_MS) {}

  forGpu(gpu: PciAddress): KernelLane {
    let lane = this.lanes.get(gpu);
    if (!lane) this.lanes.set(gpu, (lane = new ChildLane(gpu, this.defaultDeadlineMs)));
    return lane;
  }

  wedged(): LaneWedge[] {
    return [...this.lanes.values()].flatMap((l) => l.wedge() ?? []);
  }

  inProgress(): KernelCallInProgress[] {
    return [...this.lanes.values()].flatMap((l) => l.activity() ?? []);
  }

  abandon(gpu: PciAddress): void {
    const lane = this.lanes.get(gpu);
    if (lane?.wedge()) lane.kill();
  }

  close(): void {
    for (const lane of this.lanes.values()) lane.close();
  }
}

/**
 * The wedge behind a failed host call, wherever it is wrapped (HandoffFailed, ResetFailed, RomError
 * keep their cause): the GPU whose lane is stuck, and how the stuck call ends. Null when the
 * failure is not a kernel call stuck past its deadline.
 */
export function wedgeOf(err: unknown): { gpu: PciAddress | null; settled: Promise<LateOutcome> | null } | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof KernelWriterWedged) return { gpu: e.gpu, settled: e.wedge.settled };
    if (e instanceof KernelWriteTimeout && e.wedged) return { gpu: e.gpu, settled: e.settled };
  }
  return null;
}
