// The skip policy: under CI=true any skipped test fails the run, with its reason; locally it is
// reported. skip-reporter.test.ts runs the same through a real vitest run.
import { describe, expect, it } from 'vitest';
import { inCi, skipVerdict, unexplainedSkip, type ModuleOutcome } from '../../support/skip-policy.js';

const ran: ModuleOutcome = { project: 'unit', file: 'test/unit/a.test.ts', passed: 3, failed: 0, skipped: [] };
const skippedWhole: ModuleOutcome = {
  project: 'lab', file: 'test/lab/kvm/boot.lab.test.ts', passed: 0, failed: 0,
  skipped: [{ name: 'KVM lab > cannot run on this machine', reason: '/usr/bin/qemu-system-x86_64 is missing' }],
};
const partly: ModuleOutcome = {
  project: 'unit', file: 'test/unit/b.test.ts', passed: 2, failed: 0,
  skipped: [{ name: 'x', reason: 'not root' }, { name: 'y', reason: 'not root' }, { name: 'z', reason: unexplainedSkip('skip') }],
};

describe('skipVerdict', () => {
  it('passes a run without skips, in CI too', () => {
    const v = skipVerdict([ran], { ci: true });
    expect(v.fail).toBe(false);
    expect(v.lines.join('\n')).toContain('ran      unit test/unit/a.test.ts: 3 passed');
    expect(v.lines.at(-1)).toContain('nothing skipped');
  });

  it('fails a CI run with any skip and names the file and the reason', () => {
    for (const modules of [[ran, skippedWhole], [partly]]) {
      const v = skipVerdict(modules, { ci: true });
      expect(v.fail).toBe(true);
      expect(v.lines.at(-1)).toMatch(/^ {2}FAILED: \d+ skipped test\(s\) in 1 file\(s\), and CI=true/);
    }
    const text = skipVerdict([skippedWhole], { ci: true }).lines.join('\n');
    expect(text).toContain('SKIPPED  lab test/lab/kvm/boot.lab.test.ts: 0 passed, 1 skipped: /usr/bin/qemu-system-x86_64 is missing');
  });

  it('reports skips locally without failing, each reason once with its count', () => {
    const v = skipVerdict([partly, ran], { ci: false });
    expect(v.fail).toBe(false);
    expect(v.lines[0]).toContain('ran      unit test/unit/a.test.ts');
    expect(v.lines[1]).toBe(`  PARTIAL  unit test/unit/b.test.ts: 2 passed, 3 skipped: not root (2 tests); ${unexplainedSkip('skip')}`);
    expect(v.lines.at(-1)).toContain('3 test(s) in 1 file(s) SKIPPED');
  });
});

describe('inCi', () => {
  it('reads CI the way CI systems set it', () => {
    expect(inCi({ CI: 'true' })).toBe(true);
    expect(inCi({ CI: '1' })).toBe(true);
    expect(inCi({ CI: 'false' })).toBe(false);
    expect(inCi({ CI: '0' })).toBe(false);
    expect(inCi({})).toBe(false);
  });
});
