// A vitest reporter (next to the default one) that lists, at the end of a run, which test files ran
// and which skipped and why, and under CI=true fails the run when anything skipped.
//   npx vitest run --reporter=default --reporter=./test/support/skip-reporter.ts
// BATON_TEST_SUMMARY=FILE also writes the outcome as JSON, for scripts/test.mjs's final summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { inCi, skipVerdict, unexplainedSkip, type FailedTest, type ModuleOutcome, type SkippedTest } from './skip-policy.js';

export function outcomeOf(module: TestModule): ModuleOutcome {
  let passed = 0;
  let failed = 0;
  const skipped: SkippedTest[] = [];
  const failures: FailedTest[] = [];
  for (const test of module.children.allTests()) {
    const result = test.result();
    if (result.state === 'passed') passed += 1;
    else if (result.state === 'failed') {
      failed += 1;
      failures.push({ name: test.fullName, error: result.errors[0]?.message ?? 'failed without an error message' });
    }
    else if (result.state === 'skipped') skipped.push({ name: test.fullName, reason: result.note ?? unexplainedSkip(test.options.mode) });
    else skipped.push({ name: test.fullName, reason: 'did not run (the run was interrupted)' });
  }
  // A file that failed to load has no tests, and vitest fails the run for it already.
  if (passed + failed + skipped.length === 0 && module.state() === 'failed') {
    failed = 1;
    failures.push({ name: '(the file)', error: module.errors()[0]?.message ?? 'failed to load' });
  }
  return { project: module.project.name || 'default', file: relative(process.cwd(), module.moduleId), passed, failed, skipped, failures };
}

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const outcomes = modules.map(outcomeOf);
    const ci = inCi();
    const verdict = skipVerdict(outcomes, { ci });
    process.stdout.write(`\nTest files (${ci ? 'CI=true: skips fail the run' : 'local: skips are reported'}):\n${verdict.lines.join('\n')}\n`);
    const file = process.env.BATON_TEST_SUMMARY;
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ci, modules: outcomes, verdict }, null, 2));
    }
    // vitest only ever sets the exit code to 1 on failure, so this sticks.
    if (verdict.fail) process.exitCode = 1;
  }
}
