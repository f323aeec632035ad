#!/usr/bin/env node
// `npm run fuzz`: the fuzz project with its bounded case counts; `npm run fuzz -- --full` runs the
// full counts (>= 100,000 helper requests) and records every property's seed in bench/fuzz-seeds.jsonl.
// Extra arguments go to vitest (a file filter, -t NAME). Replay a failure: BATON_FUZZ_SEED=<seed>
// BATON_FUZZ_PATH=<path> npm run fuzz -- test/fuzz/<file>.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const full = args.includes('--full');
const env = { ...process.env, ...(full ? { BATON_FUZZ_FULL: '1', BATON_FUZZ_LOG: process.env.BATON_FUZZ_LOG ?? 'bench/fuzz-seeds.jsonl' } : {}) };
const r = spawnSync('npx', ['vitest', 'run', '--project', 'fuzz', ...args.filter((a) => a !== '--full')], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
