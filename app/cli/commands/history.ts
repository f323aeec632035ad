// `baton history [--json] [--limit N] [--gpu G] [--vm V]`: past switches, newest first.
import type { Command } from 'commander';
import type { ProtocolHistoryEntry } from '../../protocol/helper-protocol.js';
import { table, UsageError } from '../output.js';
import { helperOptions } from '../client/options.js';
import { formatMs } from '../client/progress.js';
import { processIo, withHelper, type CliIo, type HelperTarget } from '../client/session.js';

export interface HistoryOptions extends HelperTarget {
  json?: boolean;
  limit?: string;
  gpu?: string;
  vm?: string;
}

function durationOf(entry: ProtocolHistoryEntry): string {
  const ended = typeof entry.endedAt === 'string' ? Date.parse(entry.endedAt) : NaN;
  const ms = Number.isFinite(ended) ? ended - Date.parse(entry.startedAt) : entry.steps.reduce((sum, s) => sum + s.ms, 0);
  return formatMs(ms);
}

export function formatHistory(entries: ProtocolHistoryEntry[]): string[] {
  if (!entries.length) return ['no switches recorded'];
  return table([
    ['STARTED', 'GPU', 'MOVE', 'OUTCOME', 'BY', 'TOOK'],
    ...entries.map((e) => [e.startedAt, e.gpu, `${e.from} → ${e.to}`, e.outcome, e.requestedBy, durationOf(e)]),
  ]);
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError(`--limit ${text}: expected a whole number from 1 to 10000`);
  return n;
}

export async function runHistory(opts: HistoryOptions, io: CliIo = processIo): Promise<number> {
  const query = { limit: parseLimit(opts.limit), gpu: opts.gpu, vm: opts.vm };
  const wanted = query.limit ?? 50;
  const page = await withHelper(opts, async (client) => {
    // A page stops at the line limit too (nextOffset): the rest of what was asked comes in more pages.
    const first = await client.call('history', query);
    const entries = [...first.entries];
    for (let next = first.nextOffset; next !== undefined && entries.length < wanted;) {
      const more = await client.call('history', { ...query, offset: next, limit: wanted - entries.length });
      if (!more.entries.length) break;
      entries.push(...more.entries);
      next = more.nextOffset;
    }
    return { entries, total: first.total };
  });
  io.out(opts.json ? JSON.stringify(page, null, 2) + '\n' : formatHistory(page.entries).join('\n') + '\n');
  return 0;
}

export function registerHistory(program: Command): void {
  helperOptions(program
    .command('history')
    .description('show past switches, newest first')
    .option('--json', 'print {entries: [{gpu, from, to, requestedBy, outcome, startedAt, steps}], total}')
    .option('--limit <n>', 'at most this many entries')
    .option('--gpu <gpu>', 'only switches of this GPU')
    .option('--vm <vm>', 'only switches from or to this VM ("host" and "park" too)'))
    .action(async (opts: HistoryOptions) => {
      process.exitCode = await runHistory(opts);
    });
}
