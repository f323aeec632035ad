// `baton switch GPU TARGET`: asks the helper to move a GPU and prints each step as it happens, and
// the undos that ran when it rolled back. Exit 0 when the GPU reached TARGET, 1 when it did not,
// 3 when the helper went away (or missed its deadline) before saying how the switch ended.
import type { Command } from 'commander';
import { parsePciAddress } from '../../domain/pci-address.js';
import { HelperLostError, HelperTimeoutError, type HelperClient } from '../../protocol/helper-client.js';
import type { ResultOf } from '../../protocol/helper-protocol.js';
import { EXIT } from '../exit-codes.js';
import { UserError } from '../output.js';
import { helperOptions } from '../client/options.js';
import { formatMs, SwitchProgress } from '../client/progress.js';
import { processIo, withHelper, type CliIo, type HelperTarget } from '../client/session.js';

export interface SwitchOptions extends HelperTarget {
  json?: boolean;
}

/** The GPU's config name, found in the status by name or by any of its PCI addresses. */
function gpuName(status: ResultOf<'status'>, text: string): string {
  const address = parsePciAddress(text);
  const gpu = status.gpus.find((g) => g.name === text || (address !== null && (g.address === address || g.functions.includes(address))));
  return gpu?.name ?? text;
}

/** The undos the helper ran for this switch (newest first), from its history entry. */
async function rollbackOf(client: HelperClient, gpu: string, switchId: string): Promise<string[] | null> {
  try {
    const page = await client.call('history', { gpu, limit: 20 });
    const entry = page.entries.find((e) => e.id === switchId);
    return Array.isArray(entry?.rolledBack) ? entry.rolledBack.map(String) : null;
  } catch {
    return null; // the outcome is known; the details are only a help
  }
}

export async function runSwitch(gpuArg: string, target: string, opts: SwitchOptions, io: CliIo = processIo): Promise<number> {
  const started = Date.now();
  const { result, gpu, rolledBack } = await withHelper(opts, async (client) => {
    // Only to follow the progress under the config name; the switch itself does not need it.
    const gpu = await client.call('status').then((status) => gpuName(status, gpuArg), () => gpuArg);
    if (!opts.json) {
      const progress = new SwitchProgress(gpu, target, (line) => io.out(line + '\n'));
      client.onEvent((event) => progress.onEvent(event));
      await client.call('subscribe');
    }
    let result: ResultOf<'switch'>;
    try {
      result = await client.call('switch', { gpu: gpuArg, target, requestedBy: 'cli' });
    } catch (err) {
      if (err instanceof HelperLostError || err instanceof HelperTimeoutError) {
        throw new UserError(
          `${err.message}: the move of ${gpu} to ${target} goes on in the helper (or in its recovery when the helper starts again)`,
          [`follow it with: baton status   (who has ${gpu} now)`, `and: baton history --gpu ${gpu}   (how the switch ended)`],
          EXIT.unknown,
        );
      }
      throw err;
    }
    const reached = result.outcome === 'succeeded' && result.owner === target;
    const rolledBack = reached || result.outcome === 'superseded' ? null : await rollbackOf(client, gpu, result.switchId);
    return { gpu, result, rolledBack };
  });
  const reached = result.outcome === 'succeeded' && result.owner === target;
  if (opts.json) {
    io.out(JSON.stringify({ ...result, reached, ...(rolledBack ? { rolledBack } : {}) }, null, 2) + '\n');
  } else if (reached) {
    io.out(`${gpu} is on ${target} (${formatMs(Date.now() - started)})\n`);
  } else {
    const why = result.outcome === 'superseded' ? `superseded by a move to ${result.supersededBy ?? 'another target'}` : result.outcome;
    if (rolledBack?.length) io.out(['  rolled back, newest first:', ...rolledBack.map((r) => `    ${r}`)].join('\n') + '\n');
    io.err(`baton: ${gpu} did not reach ${target}: ${why}${result.error ? ` (${result.error})` : ''}; it is on ${result.owner}\n`);
  }
  return reached ? EXIT.ok : EXIT.error;
}

export function registerSwitch(program: Command): void {
  helperOptions(
    program
      .command('switch <gpu> <target>')
      .description('move a GPU (config name or PCI address) to a VM, "host" or "park"; exit 0 reached, 1 not, 3 when the helper went away mid-switch')
      .option('--json', 'print the result as JSON instead of progress'),
  ).action(async (gpu: string, target: string, opts: SwitchOptions) => {
    process.exitCode = await runSwitch(gpu, target, opts);
  });
}
