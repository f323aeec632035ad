// Guestless QEMU processes for tests: TCG, 128 MiB, no default devices, one hot-pluggable root port.
// Every process is tracked and killed by killAllQemu() (call it in afterEach).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const QEMU_BINARY = 'qemu-system-x86_64';

/** Why real-QEMU tests cannot run here, or null when they can. */
export function qemuUnavailableReason(): string | null {
  const probe = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error) return `${QEMU_BINARY} not runnable: ${probe.error.message}`;
  if (probe.status !== 0) return `${QEMU_BINARY} --version exited ${probe.status}`;
  return null;
}

export interface TestQemu {
  child: ChildProcess;
  socketPath: string;
  dir: string;
  exited: Promise<void>;
}

const running = new Set<TestQemu>();

export function guestlessArgv(options: { paused: boolean }): string[] {
  return [
    QEMU_BINARY, '-accel', 'tcg', '-machine', 'q35', '-m', '128', '-nodefaults', '-display', 'none',
    ...(options.paused ? ['-S'] : []),
    '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
  ];
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'baton-qmp-test-'));
}

/** Starts QEMU and resolves once its QMP socket accepts connections (a probe connection, closed at once). */
export async function startQemu(options: { paused: boolean }): Promise<TestQemu> {
  const dir = tempDir();
  const socketPath = path.join(dir, 'qmp.sock');
  const [binary = QEMU_BINARY, ...args] = guestlessArgv(options);
  const child = spawn(binary, [...args, '-qmp', `unix:${socketPath},server=on,wait=off`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const qemu: TestQemu = { child, socketPath, dir, exited };
  running.add(qemu);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`QEMU exited early: ${stderr}`);
    // The file appears at bind(), before listen(): only an accepted connection proves it is ready.
    if (fs.existsSync(socketPath) && (await socketAccepts(socketPath))) return qemu;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`QEMU QMP socket did not appear: ${stderr}`);
}

export async function killQemu(qemu: TestQemu): Promise<void> {
  if (qemu.child.exitCode === null && qemu.child.signalCode === null) {
    qemu.child.kill('SIGKILL');
    await qemu.exited;
  }
  running.delete(qemu);
  fs.rmSync(qemu.dir, { recursive: true, force: true });
}

export async function killAllQemu(): Promise<void> {
  await Promise.all([...running].map(killQemu));
}

/** True once something accepts a connection on socketPath. */
export function socketAccepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
