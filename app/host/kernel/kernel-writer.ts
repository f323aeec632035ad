// Writes to kernel files (sysfs, /dev/vga_arbiter) with a deadline. A sysfs write can block inside
// the kernel indefinitely (unbinding a device a VM still holds), and a blocked write cannot be
// cancelled from the thread that issued it. So the writes happen in a small child process: when one
// misses its deadline the caller gets an error at once, and that child is abandoned and killed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface KernelWrite {
  path: string;
  value: string;
  deadlineMs?: number;
}

/** The port: every privileged write goes through one of these. */
export interface KernelWriter {
  write(req: KernelWrite): Promise<void>;
  close(): void;
}

export class KernelWriteError extends Error {
  constructor(readonly path: string, readonly value: string, readonly code: string, readonly detail: string) {
    super(`writing ${JSON.stringify(value.trim())} to ${path} failed: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'KernelWriteError';
  }
}

export class KernelWriteTimeout extends KernelWriteError {
  constructor(path: string, value: string, readonly deadlineMs: number) {
    super(path, value, 'ETIMEDOUT', `no answer from the kernel within ${deadlineMs} ms; the write may still be blocked in the kernel`);
    this.name = 'KernelWriteTimeout';
  }
}

export const DEFAULT_WRITE_DEADLINE_MS = 10_000;

// The child: one JSON request per line, one JSON answer per line. Plain JS so it runs from source
// and from dist alike; a single write() per request, as sysfs expects.
const CHILD = `
const fs = require('node:fs');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  let answer;
  try {
    const fd = fs.openSync(req.path, 'w');
    try { fs.writeSync(fd, req.value); } finally { fs.closeSync(fd); }
    answer = { id: req.id, ok: true };
  } catch (e) {
    answer = { id: req.id, ok: false, code: e.code || 'EIO', message: e.message };
  }
  process.stdout.write(JSON.stringify(answer) + '\\n');
});
`;

interface Pending {
  child: ChildProcessWithoutNullStreams;
  resolve: () => void;
  reject: (err: Error) => void;
  req: KernelWrite;
}

const ERRNO_TEXT: Record<string, string> = {
  EBUSY: 'device or resource busy', ENODEV: 'no such device, or not bound to that driver', EINVAL: 'invalid argument',
  ENOTTY: 'no working method', EIO: 'input/output error', EPERM: 'operation not permitted', EACCES: 'permission denied',
  ENOENT: 'no such file', EAGAIN: 'probe deferred, try again', EEXIST: 'already exists', EPROTO: 'protocol error',
};

export class ChildKernelWriter implements KernelWriter {
  private child: ChildProcessWithoutNullStreams | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly defaultDeadlineMs = DEFAULT_WRITE_DEADLINE_MS) {}

  write(req: KernelWrite): Promise<void> {
    const child = this.ensureChild();
    const id = this.nextId++;
    const deadlineMs = req.deadlineMs ?? this.defaultDeadlineMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // The child may be stuck in the kernel for good: never reuse it.
        this.abandonChild(child);
        reject(new KernelWriteTimeout(req.path, req.value, deadlineMs));
      }, deadlineMs);
      this.pending.set(id, {
        child,
        req,
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      child.stdin.write(JSON.stringify({ id, path: req.path, value: req.value }) + '\n');
    });
  }

  close(): void {
    if (this.child) this.abandonChild(this.child);
  }

  private ensureChild(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: child.stdout }).on('line', (line) => this.answer(line));
    child.on('exit', () => {
      if (this.child === child) this.child = null;
      this.failAll(child, 'the kernel-writer process exited');
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    this.child = child;
    return child;
  }

  private answer(line: string): void {
    let msg: { id: number; ok: boolean; code?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve();
    else p.reject(new KernelWriteError(p.req.path, p.req.value, msg.code ?? 'EIO', ERRNO_TEXT[msg.code ?? ''] ?? ''));
  }

  private abandonChild(child: ChildProcessWithoutNullStreams): void {
    if (this.child === child) this.child = null;
    child.kill('SIGKILL');
  }

  private failAll(child: ChildProcessWithoutNullStreams, why: string): void {
    for (const [id, p] of this.pending) {
      if (p.child !== child) continue;
      this.pending.delete(id);
      p.reject(new KernelWriteError(p.req.path, p.req.value, 'EPIPE', why));
    }
  }
}
