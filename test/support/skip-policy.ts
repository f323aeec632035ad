// What a test run skipped, and whether that is allowed: under CI=true a skip fails the run (a skip
// is never a pass); locally it is reported with its reason. Pure, so it is tested on its own
// (test/unit/support/skip-policy.test.ts); skip-reporter.ts feeds it vitest's results.

export interface SkippedTest {
  /** The test's full name (suite names and its own). */
  name: string;
  /** `ctx.skip(note)`'s note, or the mode vitest recorded when no note was given. */
  reason: string;
}

export interface ModuleOutcome {
  project: string;
  /** The test file, relative to the repository. */
  file: string;
  passed: number;
  failed: number;
  skipped: SkippedTest[];
  /** Each failed test with the first line of its first error, so a CI log's summary says what broke. */
  failures?: FailedTest[];
}

export interface FailedTest {
  name: string;
  error: string;
}

export interface SkipVerdict {
  /** True when the run must fail because of skips (CI only). */
  fail: boolean;
  /** The summary, one line per test file, then the verdict. */
  lines: string[];
}

/** A reason for a skip that gave none: how it was skipped. */
export function unexplainedSkip(mode: string): string {
  if (mode === 'todo') return 'marked todo';
  return 'skipped without a reason (describe.skip / it.skip / skipIf); use describeOrSkip or ctx.skip(reason)';
}

/** Reasons of one file's skips, each once, with how many tests it covers. */
function reasons(skipped: readonly SkippedTest[]): string[] {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${reason}${n > 1 ? ` (${n} tests)` : ''}`);
}

/** At most this many characters of an error line: the summary names the failure, the log above has the rest. */
const ERROR_LINE_CHARS = 300;

function failureLines(m: ModuleOutcome): string[] {
  return (m.failures ?? []).map((f) => {
    const first = f.error.split('\n')[0] ?? '';
    const line = first.length > ERROR_LINE_CHARS ? `${first.slice(0, ERROR_LINE_CHARS)}…` : first;
    return `           FAILED ${f.name}: ${line}`;
  });
}

export function skipVerdict(modules: readonly ModuleOutcome[], options: { ci: boolean }): SkipVerdict {
  const lines: string[] = [];
  const sorted = [...modules].sort((a, b) => a.project.localeCompare(b.project) || a.file.localeCompare(b.file));
  let skippedTests = 0;
  let filesWithSkips = 0;
  for (const m of sorted) {
    const ran = m.passed + m.failed;
    const head = `${m.project} ${m.file}`;
    if (m.skipped.length === 0) {
      lines.push(`  ran      ${head}: ${m.passed} passed${m.failed ? `, ${m.failed} failed` : ''}`);
      lines.push(...failureLines(m));
      continue;
    }
    skippedTests += m.skipped.length;
    filesWithSkips += 1;
    const status = ran === 0 ? 'SKIPPED ' : 'PARTIAL ';
    lines.push(`  ${status} ${head}: ${m.passed} passed${m.failed ? `, ${m.failed} failed` : ''}, ${m.skipped.length} skipped: ${reasons(m.skipped).join('; ')}`);
    lines.push(...failureLines(m));
  }
  const fail = options.ci && skippedTests > 0;
  if (skippedTests === 0) lines.push('  nothing skipped');
  else if (fail) lines.push(`  FAILED: ${skippedTests} skipped test(s) in ${filesWithSkips} file(s), and CI=true: in CI every test must run (a skip is not a pass)`);
  else lines.push(`  ${skippedTests} test(s) in ${filesWithSkips} file(s) SKIPPED, reasons above (CI=true would fail this run)`);
  return { fail, lines };
}

/** Whether this process runs in CI, the way CI systems say so (CI=true, CI=1). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}
