// Runs qemu-system-x86_64 with a hard deadline: the process is killed when it passes, so a lab
// can never hang CI. Serial output goes to a file the caller keeps for diagnosis.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';

export const QEMU = process.env.BATON_LAB_QEMU ?? '/usr/bin/qemu-system-x86_64';
/**
 * util-linux's setpriv (Debian essential) execs QEMU with PR_SET_PDEATHSIG: a test runner that is
 * killed (Ctrl-C, CI's timeout) takes its QEMU with it instead of leaving a TCG guest eating a core.
 */
const SETPRIV = '/usr/bin/setpriv';

export interface QemuRun {
  args: string[];
  deadlineMs: number;
  /** QEMU's own stdout/stderr go here. */
  qemuLog: string;
}

export interface QemuResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
}

export function qemuAvailable(): string | undefined {
  return existsSync(QEMU) ? undefined : `${QEMU} not found (Debian package qemu-system-x86; run test/lab/setup.sh)`;
}

export function runQemu(run: QemuRun): Promise<QemuResult> {
  const started = Date.now();
  const log = openSync(run.qemuLog, 'w');
  return new Promise((resolvePromise, reject) => {
    const [program, args] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', QEMU, ...run.args]] : [QEMU, run.args];
    const child = spawn(program, args, { stdio: ['ignore', log, log] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, run.deadlineMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      closeSync(log);
      reject(err);
    });
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer);
      closeSync(log);
      resolvePromise({ exitCode, signal, timedOut, durationMs: Date.now() - started });
    });
  });
}
