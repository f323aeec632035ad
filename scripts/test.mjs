#!/usr/bin/env node
// `npm test`: typecheck, lint, build, unit tests, then the lab suites (real kernels under QEMU)
// when their packages are present. `npm run lab` runs only the lab suites.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const labOnly = process.argv.includes('--lab-only');

function step(title, cmd, args, env = {}) {
  console.log(`\n=== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`\n=== ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

/** Why the labs cannot run here, or null when they can. */
function labBlocker() {
  if (process.env.BATON_LAB_SKIP || process.env.BATON_SKIP_LAB) return 'BATON_LAB_SKIP is set';
  for (const bin of ['/usr/bin/qemu-system-x86_64', '/bin/busybox']) {
    if (!existsSync(bin)) return `${bin} is missing (run test/lab/setup.sh, or let .ci/run install it)`;
  }
  return null;
}

step('build', 'npx', ['tsc', '-p', 'tsconfig.json']);
if (!labOnly) {
  step('lint', 'npx', ['eslint', '.']);
  step('unit tests', 'npx', ['vitest', 'run', '--project', 'unit']);
  step('fuzz (bounded; npm run fuzz -- --full for the full counts)', 'npx', ['vitest', 'run', '--project', 'fuzz']);
}
const blocker = labBlocker();
if (blocker) {
  console.log(`\n=== LAB SUITES SKIPPED: ${blocker}. The real-kernel paths were not exercised.`);
  if (labOnly) process.exit(1);
} else {
  step('lab suites (real kernels under QEMU)', 'npx', ['vitest', 'run', '--project', 'lab']);
}
