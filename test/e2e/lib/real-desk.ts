// A real simulated desk for the browser suites: the helper daemon (the real engine, stores, desk
// feed and socket server on the simulated workstation) started in this process so the test holds
// the simulator's fault switches; `baton ui` and `baton switch` as real child processes on its
// socket, exactly as a user runs them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startHelper } from '../../../app/cli/commands/helper.js';
import { simulatedService } from '../../../app/helper/compose.js';
import { createDesk } from '../../../app/helper/desk/index.js';
import { createSimulatedWorkstation, type FaultSpec, type HangOutcome } from '../../../app/helper/simulate/index.js';
import { simulatedConfigYaml } from '../../../app/helper/simulate/config.js';
import { PRODUCT_DIST, REPO } from './build.js';

export interface RealDesk {
  /** The URL `baton ui` printed first (token included). */
  url: string;
  socketPath: string;
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  releaseHangs(outcome: HangOutcome): void;
  simOwners(): Record<string, unknown>;
  /** Runs `baton <args> --socket <socket>` as a child process. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** The CLI as a user runs it: the built one when there is a build, else the sources through jiti. */
function batonArgv(): string[] {
  const built = join(REPO, 'dist', 'app', 'cli', 'bin.js');
  if (existsSync(built)) return [join(REPO, 'bin', 'baton')];
  return ['--import', 'jiti/register', join(REPO, 'app', 'cli', 'bin.ts')];
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

export async function startRealDesk(options: { speed: number }): Promise<RealDesk> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  const configPath = join(dir, 'baton.yaml');
  writeFileSync(configPath, simulatedConfigYaml({ stateDir: dir }));
  const socketPath = join(dir, 'helper.sock');
  const sim = createSimulatedWorkstation({ speed: options.speed, stateDir: dir });
  const daemon = await startHelper(
    { simulate: true, config: configPath, insecureConfig: true, socket: socketPath },
    {
      real: () => Promise.reject(new Error('the e2e never runs the real hardware')),
      simulated: (config) => simulatedService(config, options.speed, sim),
      desk: async (service, config, about) => createDesk(service, config, about),
    },
  );

  const ui: ChildProcess = spawn(process.execPath, [...batonArgv(), 'ui', '--socket', socketPath, '--dist', PRODUCT_DIST], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let uiErr = '';
  ui.stderr!.on('data', (d) => (uiErr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: ui.stdout! });
    const timer = setTimeout(() => reject(new Error(`baton ui printed no URL in 90 s; stderr:\n${uiErr}`)), 90_000);
    lines.once('line', (line) => { clearTimeout(timer); resolve(line.trim()); });
    ui.once('exit', (code) => { clearTimeout(timer); reject(new Error(`baton ui exited (${code}) before printing its URL; stderr:\n${uiErr}`)); });
  });

  return {
    url,
    socketPath,
    injectFault: (spec) => void sim.injectFault(spec),
    clearFaults: () => sim.clearFaults(),
    releaseHangs: (outcome) => sim.releaseHangs(outcome),
    simOwners: () => sim.snapshot() as unknown as Record<string, unknown>,
    cli: (args) => run([...args, '--socket', socketPath]),
    async stop() {
      ui.kill('SIGTERM');
      await new Promise((r) => (ui.exitCode !== null ? r(null) : ui.once('exit', r)));
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
