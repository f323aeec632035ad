// The bounded model run (part of `npm test`); `npm run test:model -- --runs N` runs a long one.
// The seed is printed; re-run a failure with BATON_MODEL_SEED=<seed> (and BATON_MODEL_PATH from
// fast-check's report), then make it a case in regressions.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runScenario, scenario, type RunReport } from './model.js';

const RUNS = Number(process.env.BATON_MODEL_RUNS ?? 100);
const SEED = process.env.BATON_MODEL_SEED ? Number(process.env.BATON_MODEL_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.BATON_MODEL_PATH;

describe('the engine against its model (simulated workstation, two GPUs, faults, kills)', () => {
  it(`${RUNS} random runs hold every invariant`, async () => {
    const totals = { runs: 0, kills: 0, violations: 0, uncertainAtEnd: 0, outcomes: {} as Record<string, number> };
    console.log(`baton model: seed ${SEED}, ${RUNS} runs${PATH ? `, path ${PATH}` : ''}`);
    let last: RunReport | null = null;
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        last = await runScenario(sc);
        totals.runs++;
        totals.kills += last.kills;
        totals.uncertainAtEnd += last.uncertainAtEnd;
        totals.violations += last.violations.length ? 1 : 0;
        for (const [k, n] of Object.entries(last.outcomes)) totals.outcomes[k] = (totals.outcomes[k] ?? 0) + n;
        if (last.violations.length) throw new Error(`invariants broken:\n${last.violations.join('\n')}`);
      }),
      { numRuns: RUNS, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: true, verbose: 1 },
    );
    console.log(`baton model: seed ${SEED}: ${totals.runs} runs, ${totals.kills} helper kills, runs with a violation: ${totals.violations}, GPUs left lost/wedged: ${totals.uncertainAtEnd}, switch answers: ${JSON.stringify(totals.outcomes)}`);
    expect(totals.runs).toBe(RUNS);
    expect(totals.violations).toBe(0);
  }, 600_000);
});
