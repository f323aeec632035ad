// `baton status [--json]`: who owns each GPU and the state of each VM, from the helper.
import type { Command } from 'commander';
import type { ResultOf } from '../../protocol/helper-protocol.js';
import { table } from '../output.js';
import { DEFAULT_SOCKET_PATH, processIo, withHelper, type CliIo } from '../client/session.js';

export interface StatusOptions {
  socket: string;
  json?: boolean;
}

export function formatStatus(status: ResultOf<'status'>): string[] {
  const lines = table([
    ['GPU', 'ADDRESS', 'OWNER', ''],
    ...status.gpus.map((g) => [g.name, g.address ?? '-', g.owner, g.busy ? 'switching' : '']),
  ]);
  if (status.vms.length) lines.push('', ...table([['VM', 'BACKEND', 'STATE'], ...status.vms.map((v) => [v.name, v.backend, v.state])]));
  if (status.disagreements.length) lines.push('', 'Disagreements:', ...status.disagreements.map((d) => `  ${d}`));
  return lines;
}

export async function runStatus(opts: StatusOptions, io: CliIo = processIo): Promise<number> {
  const status = await withHelper(opts.socket, (client) => client.call('status'));
  io.out(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status).join('\n') + '\n');
  return 0;
}

/** Asks the helper to compare its registry with the machine now; the findings are also in status. */
export async function runReconcile(opts: StatusOptions, io: CliIo = processIo): Promise<number> {
  const { findings } = await withHelper(opts.socket, (client) => client.call('reconcile'));
  if (opts.json) io.out(JSON.stringify({ findings }, null, 2) + '\n');
  else io.out(findings.length ? ['The registry and the machine disagree:', ...findings.map((f) => `  ${f}`)].join('\n') + '\n' : 'The registry agrees with the machine.\n');
  return 0;
}

export function registerStatus(program: Command): void {
  program
    .command('reconcile')
    .description('compare the ownership registry with the machine now (drivers, VM device lists) and report every disagreement')
    .option('--json', 'print {findings: [...]}')
    .option('--socket <path>', 'the helper socket', DEFAULT_SOCKET_PATH)
    .action(async (opts: StatusOptions) => {
      process.exitCode = await runReconcile(opts);
    });
  program
    .command('status')
    .description('show who owns each GPU and the state of each VM')
    .option('--json', 'print {gpus: [{name, address, owner, ...}], vms: [{name, state, ...}]}')
    .option('--socket <path>', 'the helper socket', DEFAULT_SOCKET_PATH)
    .action(async (opts: StatusOptions) => {
      process.exitCode = await runStatus(opts);
    });
}
