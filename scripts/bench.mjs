#!/usr/bin/env node
// `npm run bench`: every bench/*-bench.ts in turn; each prints its own timings (never asserted).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const benches = readdirSync('bench').filter((f) => f.endsWith('-bench.ts')).sort();
for (const bench of benches) {
  console.log(`\n=== bench/${bench}`);
  const r = spawnSync('npx', ['vite-node', `bench/${bench}`, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
