// The one way to skip a suite that cannot run on this machine: it says why, and the reason reaches
// the run's summary (skip-reporter.ts), where CI=true turns it into a failure. `describe.skipIf`
// gives no reason and is reported as "skipped without a reason".
import { describe, it } from 'vitest';

/**
 * `describe(name, body)` when `reason` is empty; otherwise a suite of one skipped test carrying
 * the reason (the body, and so its beforeAll, is never run) and a line on stderr at collection.
 */
export function describeOrSkip(reason: string | null | undefined, name: string, body: () => void): void {
  if (!reason) {
    describe(name, body);
    return;
  }
  process.stderr.write(`[skipped] ${name}: ${reason}\n`);
  describe(name, () => {
    it('cannot run on this machine', (ctx) => ctx.skip(reason));
  });
}
