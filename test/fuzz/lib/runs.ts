// How many cases each fuzz property runs, and with which seed: a bounded number in `npm test`,
// the full count with `npm run fuzz -- --full` (BATON_FUZZ_FULL=1). Every property prints its seed
// and, when BATON_FUZZ_LOG names a file, records it there (one JSON line per property), so a
// failure can be replayed with BATON_FUZZ_SEED=<seed> BATON_FUZZ_PATH=<path>.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

export const FULL = process.env.BATON_FUZZ_FULL === '1';

/** One seed for the whole run unless one is given (replaying a failure). */
const SEED = process.env.BATON_FUZZ_SEED !== undefined ? Number(process.env.BATON_FUZZ_SEED) : (Date.now() ^ (process.pid << 8)) | 0;
const PATH = process.env.BATON_FUZZ_PATH;

export interface FuzzRun {
  numRuns: number;
  seed: number;
  path?: string;
  endOnFailure: true;
}

/** The fast-check parameters for one property: `quick` cases by default, `full` with --full. */
export function fuzzRun(name: string, counts: { quick: number; full: number }): FuzzRun {
  const numRuns = FULL ? counts.full : counts.quick;
  const line = { property: name, seed: SEED, numRuns, full: FULL, at: new Date().toISOString() };
  console.log(`fuzz ${name}: seed ${SEED}, ${numRuns} cases${PATH ? `, replaying path ${PATH}` : ''} (replay: BATON_FUZZ_SEED=${SEED})`);
  if (process.env.BATON_FUZZ_LOG) appendFileSync(process.env.BATON_FUZZ_LOG, JSON.stringify(line) + '\n');
  return { numRuns, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: true };
}

/** fc.assert with the run's parameters; a failure names the seed and the path to replay it. */
export function check<Ts extends [unknown, ...unknown[]]>(name: string, counts: { quick: number; full: number }, property: fc.IProperty<Ts>): void {
  fc.assert(property, fuzzRun(name, counts));
}

export async function checkAsync<Ts extends [unknown, ...unknown[]]>(name: string, counts: { quick: number; full: number }, property: fc.IAsyncProperty<Ts>): Promise<void> {
  await fc.assert(property, fuzzRun(name, counts));
}
