// `baton switch GPU TARGET`: asks the helper to move a GPU and prints each step as it happens.
// Exit 0 when the GPU reached TARGET, 1 otherwise.
import type { Command } from 'commander';
import { parsePciAddress } from '../../domain/pci-address.js';
import type { ResultOf } from '../../protocol/helper-protocol.js';
import { formatMs, SwitchProgress } from '../client/progress.js';
import { DEFAULT_SOCKET_PATH, processIo, withHelper, type CliIo } from '../client/session.js';

export interface SwitchOptions {
  socket: string;
  json?: boolean;
}

/** The GPU's config name, found in the status by name or by any of its PCI addresses. */
function gpuName(status: ResultOf<'status'>, text: string): string {
  const address = parsePciAddress(text);
  const gpu = status.gpus.find((g) => g.name === text || (address !== null && (g.address === address || g.functions.includes(address))));
  return gpu?.name ?? text;
}

export async function runSwitch(gpuArg: string, target: string, opts: SwitchOptions, io: CliIo = processIo): Promise<number> {
  const started = Date.now();
  const { result, gpu } = await withHelper(opts.socket, async (client) => {
    // Only to follow the progress under the config name; the switch itself does not need it.
    const gpu = await client.call('status').then((status) => gpuName(status, gpuArg), () => gpuArg);
    if (!opts.json) {
      const progress = new SwitchProgress(gpu, target, (line) => io.out(line + '\n'));
      client.onEvent((event) => progress.onEvent(event));
      await client.call('subscribe');
    }
    return { gpu, result: await client.call('switch', { gpu: gpuArg, target, requestedBy: 'cli' }) };
  });
  const reached = result.outcome === 'succeeded' && result.owner === target;
  if (opts.json) {
    io.out(JSON.stringify({ ...result, reached }, null, 2) + '\n');
  } else if (reached) {
    io.out(`${gpu} is on ${target} (${formatMs(Date.now() - started)})\n`);
  } else {
    const why = result.outcome === 'superseded' ? `superseded by a move to ${result.supersededBy ?? 'another target'}` : result.outcome;
    io.err(`baton: ${gpu} did not reach ${target}: ${why}${result.error ? ` (${result.error})` : ''}; it is on ${result.owner}\n`);
  }
  return reached ? 0 : 1;
}

export function registerSwitch(program: Command): void {
  program
    .command('switch <gpu> <target>')
    .description('move a GPU (config name or PCI address) to a VM, "host" or "park"')
    .option('--json', 'print the result as JSON instead of progress')
    .option('--socket <path>', 'the helper socket', DEFAULT_SOCKET_PATH)
    .action(async (gpu: string, target: string, opts: SwitchOptions) => {
      process.exitCode = await runSwitch(gpu, target, opts);
    });
}
