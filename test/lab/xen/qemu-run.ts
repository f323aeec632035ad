// Runs QEMU with its serial console on stdout, timestamps every console line, and kills QEMU when
// a marker line arrives (plus a grace period) or at the deadline: a lab never hangs.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ConsoleLine { atMs: number; text: string }

export interface QemuResult {
  lines: ConsoleLine[];
  /** Why the run ended: the done marker, QEMU exiting by itself, or the deadline. */
  ending: 'marker' | 'exit' | 'deadline';
  exitCode: number | null;
  stderr: string;
  wallMs: number;
}

export interface QemuRunOptions {
  args: string[];
  deadlineMs: number;
  /** A console line containing this ends the run (after graceMs, so the guest can power off). */
  doneMarker: string;
  graceMs: number;
  consoleLog: string;
  onLine?: (line: ConsoleLine) => void;
}

export function runQemu(opts: QemuRunOptions): Promise<QemuResult> {
  const started = Date.now();
  const log = createWriteStream(opts.consoleLog);
  const child = spawn('qemu-system-x86_64', opts.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: ConsoleLine[] = [];
  let stderr = '';
  let pending = '';
  let ending: QemuResult['ending'] = 'exit';
  const kill = (why: QemuResult['ending']): void => {
    if (child.exitCode === null && child.signalCode === null) { ending = why; child.kill('SIGKILL'); }
  };
  const deadline = setTimeout(() => kill('deadline'), opts.deadlineMs);
  let grace: NodeJS.Timeout | undefined;

  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    pending += chunk.toString('utf8');
    const parts = pending.split(/\r?\n/);
    pending = parts.pop() ?? '';
    for (const text of parts) {
      const line = { atMs: Date.now() - started, text };
      lines.push(line);
      opts.onLine?.(line);
      if (!grace && text.includes(opts.doneMarker)) grace = setTimeout(() => kill('marker'), opts.graceMs);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });

  return new Promise((resolve, reject) => {
    child.on('error', (err) => { clearTimeout(deadline); reject(err); });
    child.on('close', (code) => {
      clearTimeout(deadline);
      if (grace) clearTimeout(grace);
      if (pending) lines.push({ atMs: Date.now() - started, text: pending });
      log.end();
      resolve({ lines, ending: grace && ending === 'exit' ? 'marker' : ending, exitCode: code, stderr, wallMs: Date.now() - started });
    });
  });
}
