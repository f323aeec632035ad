// Starts QEMU from a configured argv with a QMP socket, and waits until that socket answers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { VmStartFailedError, VmTimeoutError, type VmBackendError } from '../../domain/vm/errors.js';
import { QmpClient, type QmpClientOptions } from './client.js';

const STDERR_TAIL_BYTES = 4096;

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class QemuProcess {
  private stderr = '';
  private exitInfo: QemuExit | null = null;
  readonly exited: Promise<QemuExit>;

  constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL_BYTES);
    });
    // 'close' rather than 'exit': by then stderr is fully read, so the tail explains a failed start.
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      // spawn failures (ENOENT) emit 'error' and maybe never 'close'.
      child.once('error', () => {
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get exit(): QemuExit | null {
    return this.exitInfo;
  }

  get stderrTail(): string {
    return this.stderr;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exitInfo) this.child.kill(signal);
  }

  /** Waits for exit up to timeoutMs; true when it exited. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    try {
      return await Promise.race([this.exited.then(() => true as const), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface LaunchOptions extends Omit<QmpClientOptions, 'negotiate'> {
  /** QEMU command line, argv[0] the binary; must not contain a QMP monitor (one is added at socketPath). */
  argv: readonly string[];
  /** The working folder of the QEMU process; default / (never the helper's own). */
  cwd?: string;
  deadlineMs: number;
}

/** Spawns QEMU and connects to its QMP socket; kills it again if that does not work in time. */
export async function launchQemu(options: LaunchOptions): Promise<{ process: QemuProcess; client: QmpClient }> {
  const [binary, ...args] = options.argv;
  const context = { vm: options.vm, hypervisor: 'qmp' as const };
  if (!binary) throw new VmStartFailedError(`${options.vm}: empty command line`, context);
  // A stale socket file from a crashed run would look like a VM that refuses connections.
  fs.rmSync(options.socketPath, { force: true });
  const child = spawn(binary, [...args, '-qmp', `unix:${options.socketPath},server=on,wait=off`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: options.cwd ?? '/',
  });
  const qemu = new QemuProcess(child);
  const started = Date.now();
  let lastError: VmBackendError | undefined;
  while (Date.now() - started < options.deadlineMs) {
    if (qemu.exit) {
      throw new VmStartFailedError(
        `${options.vm}: QEMU exited (${qemu.exit.code ?? qemu.exit.signal ?? 'spawn failed'}) before its QMP socket answered: ${qemu.stderrTail.trim()}`,
        { ...context, hypervisorMessage: qemu.stderrTail.trim() });
    }
    try {
      const remaining = options.deadlineMs - (Date.now() - started);
      const client = await QmpClient.connect({ ...options, connectTimeoutMs: Math.max(250, Math.min(options.connectTimeoutMs ?? 5_000, remaining)) });
      return { process: qemu, client };
    } catch (error) {
      lastError = error as VmBackendError;
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 25)), qemu.exited]);
    }
  }
  qemu.kill('SIGKILL');
  await qemu.waitForExit(2_000);
  throw new VmTimeoutError(
    `${options.vm}: QMP socket did not answer within ${options.deadlineMs} ms (${lastError?.message ?? 'no attempt'})`,
    context, 'start', options.deadlineMs);
}
