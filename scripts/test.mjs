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

/** Why the package tests cannot run here (test/package/check-tools.sh), or null when they can. */
function packageTestBlocker() {
  const r = spawnSync('sh', ['test/package/check-tools.sh'], { encoding: 'utf8' });
  return r.status === 0 ? null : r.stdout.trim() || 'test/package/check-tools.sh failed';
}

/** Why the browser suites cannot run here, or null when they can. */
function chromiumBlocker() {
  const candidates = process.env.BATON_CHROMIUM ? [process.env.BATON_CHROMIUM] : ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];
  return candidates.some((p) => existsSync(p)) ? null : `no Chromium at ${candidates.join(' or ')} (run test/e2e/setup.sh)`;
}

step('build', 'npx', ['tsc', '-p', 'tsconfig.json']);
if (!labOnly) {
  step('renderer typecheck', 'npx', ['tsc', '-p', 'renderer/tsconfig.json', '--noEmit']);
  step('lint', 'npx', ['eslint', '.']);
  step('unit tests', 'npx', ['vitest', 'run', '--project', 'unit', '--project', 'renderer']);
  step('renderer build', 'npx', ['vite', 'build', '-c', 'renderer/vite.config.ts']);
  step('Electron main typecheck (against electron.d.ts, skipLibCheck off)', 'npx', ['tsc', '-p', 'app/main/tsconfig.json', '--noEmit']);
  const packageBlocker = packageTestBlocker();
  if (packageBlocker && process.env.CI === 'true') {
    console.error(`\n=== package tests cannot run under CI: ${packageBlocker}`);
    process.exit(1);
  }
  if (packageBlocker) console.log(`\n=== PACKAGE TESTS SKIPPED: ${packageBlocker}. The deb and rpm were not built or installed.`);
  else step('package tests (deb and rpm built, checked, installed into a throwaway root)', 'npx', ['vitest', 'run', '--project', 'package']);
  const browserBlocker = chromiumBlocker();
  if (browserBlocker) console.log(`\n=== BROWSER SUITES SKIPPED: ${browserBlocker}. The renderer was not exercised in a real browser.`);
  else step('browser suites (real Chromium)', 'npx', ['vitest', 'run', '--project', 'e2e']);
}
const blocker = labBlocker();
if (blocker) {
  console.log(`\n=== LAB SUITES SKIPPED: ${blocker}. The real-kernel paths were not exercised.`);
  if (labOnly) process.exit(1);
} else {
  step('lab suites (real kernels under QEMU)', 'npx', ['vitest', 'run', '--project', 'lab']);
}
