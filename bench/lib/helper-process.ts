// Starts a helper as its own process and waits until its socket accepts a connection.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

export interface HelperProcess {
  child: ChildProcess;
  pid: number;
  socketPath: string;
  /** From spawn to the first accepted connection, in ms. */
  startMs: number;
  stderr: string[];
  stop(): Promise<void>;
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function startHelperProcess(argv: string[], socketPath: string): Promise<HelperProcess> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr.push(d); if (stderr.length > 200) stderr.shift(); });
  child.stdout!.resume();
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (;;) {
    if (exited) throw new Error(`the helper exited before listening: ${stderr.join('')}`);
    if (await accepts(socketPath)) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const startMs = performance.now() - t0;
  return {
    child, pid: child.pid!, socketPath, startMs, stderr,
    stop: () => new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
