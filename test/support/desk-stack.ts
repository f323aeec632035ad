// A whole simulated desk for tests: `baton helper --simulate` (a real child process, or in this
// process when the test must plant faults in the simulator) and `baton ui` (always a real child
// process) on a private folder, plus `baton <command> --socket` as a user runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startHelper } from '../../app/cli/commands/helper.js';
import { simulatedService } from '../../app/helper/compose.js';
import type { Daemon } from '../../app/helper/daemon/daemon.js';
import { createDesk } from '../../app/helper/desk/index.js';
import { simulatedConfigYaml } from '../../app/helper/simulate/config.js';
import { createSimulatedWorkstation, type SimulatedWorkstation } from '../../app/helper/simulate/index.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DeskStackOptions {
  /** 'process' (default): `baton helper --simulate` as a child process, real-time step latencies. 'in-process': the same daemon in this process, with `sim` to plant faults. */
  helper?: 'process' | 'in-process';
  /** In-process only: the simulator's speed (1 real time, 0.01 fast, 0 instant). */
  speed?: number;
  /** The renderer build `baton ui` serves (default: its own renderer/dist). */
  distDir?: string;
  /** `baton ui --listen` (default 127.0.0.1 and a free port). */
  listen?: string;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DeskStack {
  /** The first line `baton ui` printed: http://127.0.0.1:PORT/#token=T */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The token from the URL's fragment: offered as the WebSocket subprotocol baton.token.T. */
  token: string;
  /** The helper socket. */
  socketPath: string;
  /** The private folder: config, socket, journal, history, monitors last seen. */
  dir: string;
  /** The simulated workstation behind the helper (in-process only; null for a helper process). */
  sim: SimulatedWorkstation | null;
  /** Runs `baton <args> --socket <socketPath>` as a child process. */
  baton(args: string[]): Promise<CliRun>;
  /** `baton ui`'s stderr so far (for failure messages). */
  uiLog(): string;
  /** Stops `baton ui` and the helper, and removes the folder. */
  stop(): Promise<void>;
}

/** The CLI as a user runs it: the build when there is one (npm run build), else the sources through jiti. */
export function batonArgv(): string[] {
  if (existsSync(join(REPO, 'dist', 'app', 'cli', 'bin.js'))) return [join(REPO, 'bin', 'baton')];
  return ['--import', 'jiti/register', join(REPO, 'app', 'cli', 'bin.ts')];
}

export function runBaton(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...batonArgv(), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function startBaton(args: string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [...batonArgv(), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  return { child, log: () => log };
}

/** Resolves with the first stdout line (or stderr line matching `ready`), rejects when the process ends first. */
function firstLine(child: ChildProcess, stream: 'stdout' | 'stderr', ready: (line: string) => boolean, what: string, log: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child[stream]! });
    const timer = setTimeout(() => reject(new Error(`${what} was not ready within 60 s; it said:\n${log()}`)), 60_000);
    lines.on('line', (line) => {
      if (!ready(line)) return;
      clearTimeout(timer);
      lines.close();
      resolve(line.trim());
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} ended (${code ?? signal}) before it was ready; it said:\n${log()}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startDeskStack(options: DeskStackOptions = {}): Promise<DeskStack> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-desk-'));
  const configPath = join(dir, 'baton.yaml');
  writeFileSync(configPath, simulatedConfigYaml({ stateDir: dir }), { mode: 0o644 });
  const socketPath = join(dir, 'helper.sock');
  let sim: SimulatedWorkstation | null = null;
  let daemon: Daemon | null = null;
  let helper: { child: ChildProcess; log: () => string } | null = null;
  let ui: { child: ChildProcess; log: () => string } | null = null;

  const stop = async () => {
    if (ui) await stopChild(ui.child);
    if (helper) await stopChild(helper.child);
    await daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    if (options.helper === 'in-process') {
      const speed = options.speed ?? 1;
      const held = createSimulatedWorkstation({ speed, stateDir: dir });
      sim = held;
      daemon = await startHelper(
        { simulate: true, config: configPath, insecureConfig: true, socket: socketPath },
        {
          real: () => Promise.reject(new Error('a desk stack never runs the real hardware')),
          simulated: (config) => simulatedService(config, speed, held),
          desk: async (service, config, about) => createDesk(service, config, about),
        },
        () => {},
      );
    } else {
      helper = startBaton(['helper', '--simulate', '--config', configPath, '--insecure-config', '--socket', socketPath]);
      await firstLine(helper.child, 'stderr', (line) => line.includes('listening on'), 'baton helper --simulate', helper.log);
    }

    ui = startBaton(['ui', '--socket', socketPath, ...(options.listen ? ['--listen', options.listen] : []), ...(options.distDir ? ['--dist', options.distDir] : [])]);
    const uiNow = ui;
    const url = await firstLine(uiNow.child, 'stdout', () => true, 'baton ui', uiNow.log);
    const parsed = new URL(url);
    return {
      url,
      origin: parsed.origin,
      token: new URLSearchParams(parsed.hash.slice(1)).get('token') ?? '',
      socketPath,
      dir,
      sim,
      baton: (args) => runBaton([...args, '--socket', socketPath]),
      uiLog: uiNow.log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
