// `baton doctor`: is this machine ready to move GPUs? Every finding with what to do; exit 1 on any error.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../../domain/config/index.js';
import { runDoctorChecks, type DoctorPaths, type Finding } from '../client/doctor-checks.js';
import { DEFAULT_SOCKET_PATH, processIo, resolveSocket, type CliIo } from '../client/session.js';

interface DoctorOptions {
  config: string;
  socket?: string;
  sysfs: string;
  proc: string;
  json?: boolean;
}

const LABEL: Record<Finding['level'], string> = { ok: 'ok', warning: 'warn', error: 'ERROR' };

export function formatFindings(findings: Finding[]): string[] {
  return findings.flatMap((f) => [`${LABEL[f.level].padEnd(5)}  ${f.what}`, ...(f.fix ? [`       → ${f.fix}`] : [])]);
}

export async function runDoctor(paths: DoctorPaths, json: boolean, io: CliIo = processIo): Promise<number> {
  const findings = await runDoctorChecks(paths);
  io.out(json ? JSON.stringify({ findings }, null, 2) + '\n' : formatFindings(findings).join('\n') + '\n');
  return findings.some((f) => f.level === 'error') ? 1 : 0;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the IOMMU, vfio, the configured GPUs, the config and the helper; say what to fix')
    .option('--config <file>', 'the config to check', DEFAULT_CONFIG_PATH)
    .option('--socket <path>', 'the helper socket (default: $BATON_SOCKET, else helper.socket of the config, else /run/baton/helper.sock)')
    .option('--sysfs <dir>', 'sysfs root', '/sys')
    .option('--proc <dir>', 'procfs root', '/proc')
    .option('--json', 'print the findings as JSON')
    .action(async (opts: DoctorOptions) => {
      // A config with errors or none is doctor's own finding, not a reason to stop: the socket then falls back.
      const quiet: CliIo = { out: () => {}, err: () => {} };
      const socket = await resolveSocket({ socket: opts.socket, config: opts.config }, process.env, quiet).catch(() => ({ path: DEFAULT_SOCKET_PATH }));
      const paths = { sysRoot: opts.sysfs, procRoot: opts.proc, configPath: opts.config, socketPath: socket.path };
      process.exitCode = await runDoctor(paths, opts.json === true, processIo);
    });
}
