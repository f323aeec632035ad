#!/usr/bin/env node
// `npm run bench`: builds (tsc → dist/), then runs every bench/*-bench.ts from dist/ in turn; each
// prints its own figures (never asserted). Arguments go to every bench; `--full` selects the long
// runs (the 10-minute load, the full fuzz with its >= 100,000 helper requests). `--only NAME` runs one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const passed = args.filter((a, i) => a !== '--only' && args[i - 1] !== '--only');

function run(title, cmd, argv) {
  console.log(`\n=== ${title}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run('build', 'npm', ['run', '--silent', 'build']);
// The lab bench (a KVM lab run of 10-15 minutes, root, QEMU) runs only when named: --only hook-vs-baton.
const LAB_BENCHES = ['hook-vs-baton-bench.ts', 'startup-l1-bench.ts'];
const benches = readdirSync('bench').filter((f) => f.endsWith('-bench.ts')).sort().filter((f) => (only ? f.startsWith(only) : !LAB_BENCHES.includes(f)));
if (!only) console.log(`\n=== skipped: ${LAB_BENCHES.join(', ')} (a KVM lab run; npm run bench -- --only hook-vs-baton, under flock /tmp/baton-heavy.lock)`);
// The older benches take one positional count; flags (--full, --switches N) are for the newer ones.
const positional = passed.filter((a) => !a.startsWith('--') && !passed[passed.indexOf(a) - 1]?.startsWith('--'));
for (const bench of benches) {
  const own = /^(helper|load|hook)-/.test(bench) ? passed : positional;
  run(`bench/${bench}`, process.execPath, [`dist/bench/${bench.replace(/\.ts$/, '.js')}`, ...own]);
}
// The fault report (bench/fault-report.mjs): the fault matrix and a model-based run, tabulated.
if (!only || only === 'fault-report') run('fault report (fault matrix + model runs)', process.execPath, ['bench/fault-report.mjs', ...(args.includes('--full') ? ['--model-runs', '1000'] : [])]);
// The security suite (test/security): bounded in npm test, more cases with --full; its table comes
// from the records it writes (bench/security-table.mjs).
if (!only || only === 'security') {
  const report = '.cache/security-report.jsonl';
  rmSync(report, { force: true });
  mkdirSync('.cache', { recursive: true });
  const env = { ...process.env, BATON_SECURITY_REPORT: report, ...(args.includes('--full') ? { BATON_SECURITY_FULL: '1' } : {}) };
  console.log(`\n=== security suite${args.includes('--full') ? ', full counts' : ''}`);
  const r = spawnSync('npx', ['vitest', 'run', '--project', 'security'], { stdio: 'inherit', env });
  run('security table (bench/RESULTS.md)', process.execPath, ['bench/security-table.mjs', report]);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (args.includes('--full') && !only) run('fuzz, full counts', 'node', ['test/fuzz/run.mjs', '--full']);
