// The order lab suites run in (they run one at a time): suites that boot a nested guest with the
// tiny kernel go last, so `npm test`'s background build of that kernel (tiny-kernel-prebuild.ts)
// runs beside the others, on the core a one-vCPU L1 leaves idle; the Xen suites (two vCPUs) just
// before them. Found by what a suite imports, so a new suite is placed without a list to keep.
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export function labRank(source: string, file: string): number {
  if (source.includes('tiny-kernel.js')) return 2;
  if (file.includes('/test/lab/xen/')) return 1;
  return 0;
}

export class LabOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = new Map(sorted.map((f) => {
      let source = '';
      try { source = readFileSync(f.moduleId, 'utf8'); } catch { /* not a file on disk: rank by path */ }
      return [f, labRank(source, f.moduleId)] as const;
    }));
    // Array.prototype.sort is stable: within a rank, vitest's own order stays.
    return sorted.sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
  }
}
