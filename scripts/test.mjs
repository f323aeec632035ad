#!/usr/bin/env node
// `npm test`: typecheck, lint, build, unit tests, then the lab suites (real kernels under QEMU).
// `npm run lab` runs only the lab suites. Ends with a summary of which test files ran and which
// skipped and why (test/support/skip-reporter.ts). Under CI=true nothing may skip: a skipped test,
// or labs that cannot run, fail the run; locally they are reported as skipped, with the reason.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const labOnly = process.argv.includes('--lab-only');
const ci = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const SUMMARY_DIR = '.cache/test-summary';
const REPORTER = './test/support/skip-reporter.ts';
const summaries = [];

function finish(code) {
  console.log(`\n=== Summary (${ci ? 'CI=true: every test must run' : 'local run: skips are reported, CI=true fails them'})`);
  for (const { title, file, note } of summaries) {
    if (note) { console.log(`${title}:\n  ${note}`); continue; }
    if (!existsSync(file)) { console.log(`${title}: no summary (the run ended before its reporter)`); continue; }
    const { verdict } = JSON.parse(readFileSync(file, 'utf8'));
    console.log(`${title}:\n${verdict.lines.join('\n')}`);
  }
  console.log(code === 0 ? '\n=== npm test passed' : '\n=== npm test FAILED');
  process.exit(code);
}

function step(title, cmd, args, env = {}) {
  console.log(`\n=== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`\n=== ${title} failed (exit ${r.status ?? r.signal})`);
    finish(1);
  }
}

/**
 * vitest for one project (or the files of it that `filters` name), with the skip reporter; its
 * verdict goes into the final summary under `key`.
 */
function vitestStep(title, project, { key = project, filters = [], env = {} } = {}) {
  const file = join(SUMMARY_DIR, `${key}.json`);
  rmSync(file, { force: true });
  summaries.push({ title, file });
  step(title, 'npx', ['vitest', 'run', '--project', project, ...filters, '--reporter=default', `--reporter=${REPORTER}`], { BATON_TEST_SUMMARY: file, ...env });
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

/** A suite family that cannot run here: reported; under CI=true the run fails at the end. */
const blocked = [];
function blockedSuites(title, why) {
  summaries.push({ title, note: `${title.toUpperCase()} SKIPPED: ${why}` });
  blocked.push(title);
}

/**
 * The nested-guest suites need a tiny kernel that takes ~10 min to build on a cold cache. Built in
 * the background, niced, from the start of the run (the steps before the labs), and the suites that
 * need it run last (test/lab/lib/lab-order.ts); they wait for this build (a lock in the cache). A
 * no-op when cached.
 */
function startTinyKernelBuild() {
  const program = '.cache/lab/js/test/lab/lib/tiny-kernel-prebuild.js';
  if (!existsSync(program)) { console.log(`\n=== tiny kernel: ${program} missing (test/lab/setup.sh builds it); the suites build it themselves`); return; }
  mkdirSync(SUMMARY_DIR, { recursive: true });
  const log = join(SUMMARY_DIR, 'tiny-kernel-prebuild.log');
  const child = spawn('nice', ['-n', '10', process.execPath, program], { stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')] });
  child.on('exit', (code) => console.log(`\n=== tiny kernel background build exited ${code} (log: ${log})`));
  // Never outlives this run (only when the labs end before it, e.g. a failing first suite).
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGTERM'); });
  console.log(`\n=== tiny kernel: background build or cache check, pid ${child.pid}, log ${log}`);
}

step('build (tsc, then the bundles: scripts/bundle.mjs)', 'npm', ['run', '--silent', 'build']);
// The lab suites build only when run on their own (test/lab/lib/build.ts): here it is done.
process.env.BATON_BUILD_DONE = '1';
// The tiny kernel builds beside the typecheck, lint, unit, browser and package steps (niced), so on
// a cold lab cache it is ready before the first suite that needs it, instead of holding up the labs.
if (labBlocker() === null) startTinyKernelBuild();
if (!labOnly) {
  step('renderer typecheck', 'npx', ['tsc', '-p', 'renderer/tsconfig.json', '--noEmit']);
  step('Electron main typecheck (against electron.d.ts, skipLibCheck off)', 'npx', ['tsc', '-p', 'app/main/tsconfig.json', '--noEmit']);
  step('lint', 'npx', ['eslint', '.']);
  vitestStep('unit tests', 'unit');
  vitestStep('renderer unit tests (jsdom)', 'renderer');
  vitestStep('fuzz (bounded; npm run fuzz -- --full for the full counts)', 'fuzz');
  vitestStep('security (attacks on the running helper and baton ui, as root; bounded, npm run bench -- --only security --full for more)', 'security');
  step('renderer build', 'npx', ['vite', 'build', '-c', 'renderer/vite.config.ts']);
  const browserBlocker = chromiumBlocker();
  if (browserBlocker) blockedSuites('browser suites', `${browserBlocker}. The renderer was not exercised in a real browser.`);
  else vitestStep('browser suites (real Chromium)', 'e2e');
  const packageBlocker = packageTestBlocker();
  if (packageBlocker) blockedSuites('package tests', `${packageBlocker}. The deb and rpm were not built or installed.`);
  else vitestStep('package tests (deb and rpm built, checked, installed into a throwaway root)', 'package');
}
const blocker = labBlocker();
if (blocker) {
  blockedSuites('lab suites', `${blocker}. The real-kernel paths were not exercised.`);
  finish(ci || labOnly ? 1 : 0);
}
// The KVM lab's L1 has one vCPU, so two of its suites run at a time on a 2-core machine
// (BATON_LAB_PARALLEL, vitest.config.ts); the Xen suites boot two vCPUs and run alone after them.
vitestStep('lab suites, KVM and captures (real kernels under QEMU, two at a time)', 'lab', { key: 'lab-kvm', filters: ['test/lab/kvm/', 'test/lab/capture/'], env: { BATON_LAB_PARALLEL: '1' } });
vitestStep('lab suites, Xen (real Xen under QEMU, one at a time)', 'lab', { key: 'lab-xen', filters: ['test/lab/xen/'] });
finish(ci && blocked.length ? 1 : 0);
