#!/usr/bin/env node
// `npm run test:model -- --runs N [--seed S] [--path P]`: a long run of the engine's model-based test
// (test/model). Prints the seed and the figure (runs, kills, violations) for bench/RESULTS.md.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const value = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const runs = value('--runs') ?? '1000';
if (!/^\d+$/.test(runs) || Number(runs) < 1) {
  console.error(`--runs takes a positive number, not ${JSON.stringify(runs)}`);
  process.exit(2);
}
const env = { ...process.env, BATON_MODEL_RUNS: runs };
if (value('--seed')) env.BATON_MODEL_SEED = value('--seed');
if (value('--path')) env.BATON_MODEL_PATH = value('--path');
const r = spawnSync('npx', ['vitest', 'run', '--project', 'unit', 'test/model/engine.model.test.ts'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
