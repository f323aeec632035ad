// The skip reporter in a real vitest run of a fixture project (test/support/fixtures/skip-run):
// a file with a skipped suite fails the run under CI=true, naming the reason; locally the run passes
// and the summary says what skipped and why; a run without skips passes in CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../../..');
const FIXTURE = join(REPO, 'test/support/fixtures/skip-run');
const scratch = mkdtempSync(join(tmpdir(), 'baton-skip-reporter-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function fixtureRun(filter: string, ci: boolean) {
  const summary = join(scratch, `${filter}-${ci}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, BATON_TEST_SUMMARY: summary };
  delete env.CI;
  if (ci) env.CI = 'true';
  // Not our own vitest's state: a child process, as npm test runs it.
  const r = spawnSync(process.execPath, [
    join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(FIXTURE, 'vitest.config.ts'),
    '--reporter=default', `--reporter=${join(REPO, 'test/support/skip-reporter.ts')}`, filter,
  ], { cwd: REPO, env, encoding: 'utf8', timeout: 120_000 });
  const parsed = JSON.parse(readFileSync(summary, 'utf8')) as { ci: boolean; verdict: { fail: boolean; lines: string[] } };
  return { status: r.status, stdout: r.stdout, summary: parsed };
}

describe('skip reporter in a real vitest run', { timeout: 150_000 }, () => {
  it('fails under CI=true when a suite skips, and says which and why', () => {
    const r = fixtureRun('skips', true);
    expect(r.status).toBe(1);
    expect(r.summary.ci).toBe(true);
    expect(r.summary.verdict.fail).toBe(true);
    expect(r.stdout).toContain('PARTIAL  default test/support/fixtures/skip-run/skips.fixture.ts: 1 passed, 2 skipped');
    expect(r.stdout).toContain('fixture: the frobnicator is not installed');
    expect(r.stdout).toContain('skipped without a reason');
    expect(r.stdout).toContain('FAILED: 2 skipped test(s) in 1 file(s), and CI=true');
    // The skipped suite's body never ran: its test would have thrown.
    expect(r.stdout).not.toContain('must not run');
  });

  it('passes locally and reports the same skips with their reasons', () => {
    const r = fixtureRun('skips', false);
    expect(r.status).toBe(0);
    expect(r.summary.verdict.fail).toBe(false);
    expect(r.stdout).toContain('fixture: the frobnicator is not installed');
    expect(r.stdout).toContain('2 test(s) in 1 file(s) SKIPPED');
  });

  it('names each failed test and its error in the summary, so a CI log says what broke', () => {
    const r = fixtureRun('fails', true);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('ran      default test/support/fixtures/skip-run/fails.fixture.ts: 1 passed, 1 failed');
    expect(r.summary.verdict.lines.join('\n')).toMatch(/FAILED breaks on purpose: frobnicator state: expected 'the frobnicator' to be 'ready'/);
  });

  it('passes under CI=true when nothing skips', () => {
    const r = fixtureRun('passes', true);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ran      default test/support/fixtures/skip-run/passes.fixture.ts: 1 passed');
    expect(r.stdout).toContain('nothing skipped');
  });
});
