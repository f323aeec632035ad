// How many cases each fuzz property runs, and with which seed: a bounded number in `npm test`,
// the full count with `npm run fuzz -- --full` (BATON_FUZZ_FULL=1). Every property prints its seed
// and the cases it ran and, when BATON_FUZZ_LOG names a file, records both there (one JSON line per
// property), so a failure can be replayed with BATON_FUZZ_SEED=<seed> BATON_FUZZ_PATH=<path>.
// BATON_FUZZ_UNTIL=<ISO time> stops each property (as a pass, with the count it reached) at that time.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

export const FULL = process.env.BATON_FUZZ_FULL === '1';

/** One seed for the whole run unless one is given (replaying a failure). */
const SEED = process.env.BATON_FUZZ_SEED !== undefined ? Number(process.env.BATON_FUZZ_SEED) : (Date.now() ^ (process.pid << 8)) | 0;
const PATH = process.env.BATON_FUZZ_PATH;
const UNTIL = process.env.BATON_FUZZ_UNTIL ? Date.parse(process.env.BATON_FUZZ_UNTIL) : undefined;

type Counts = { quick: number; full: number };

function parameters<T>(name: string, counts: Counts): fc.Parameters<T> {
  const numRuns = FULL ? counts.full : counts.quick;
  console.log(`fuzz ${name}: seed ${SEED}, ${numRuns} cases${PATH ? `, replaying path ${PATH}` : ''}${UNTIL ? `, until ${new Date(UNTIL).toISOString()}` : ''} (replay: BATON_FUZZ_SEED=${SEED})`);
  return {
    numRuns, seed: SEED, endOnFailure: true, includeErrorInReport: true, ...(PATH ? { path: PATH } : {}),
    ...(UNTIL ? { plugins: [fc.interruptAfterTimeLimit(Math.max(1, UNTIL - Date.now()))] } : {}),
  };
}

function settle<T>(name: string, details: fc.RunDetails<T>): void {
  // Stopped by BATON_FUZZ_UNTIL before any counterexample: a pass with the count it reached.
  if (details.interrupted && details.counterexample === null) details = { ...details, failed: false } as fc.RunDetails<T>;
  const line = { property: name, seed: details.seed, casesRun: details.numRuns, interrupted: details.interrupted, failed: details.failed, full: FULL, ...(details.failed ? { path: details.counterexamplePath } : {}), at: new Date().toISOString() };
  console.log(`fuzz ${name}: ${details.numRuns} cases run${details.interrupted ? ' (stopped at BATON_FUZZ_UNTIL)' : ''}, ${details.failed ? `FAILED at path ${details.counterexamplePath}` : 'all passed'}`);
  if (process.env.BATON_FUZZ_LOG) appendFileSync(process.env.BATON_FUZZ_LOG, JSON.stringify(line) + '\n');
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? `fuzz ${name} failed`);
}

/** Runs the property; a failure throws with the seed, the path and the counterexample. */
export function check<Ts extends [unknown, ...unknown[]]>(name: string, counts: Counts, property: fc.IProperty<Ts>): void {
  settle(name, fc.check(property, parameters<Ts>(name, counts)));
}

export async function checkAsync<Ts extends [unknown, ...unknown[]]>(name: string, counts: Counts, property: fc.IAsyncProperty<Ts>): Promise<void> {
  settle(name, await fc.check(property, parameters<Ts>(name, counts)));
}
