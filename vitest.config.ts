import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      // Fuzz (fast-check): a bounded number of cases here, the full run with `npm run fuzz -- --full`.
      { test: { name: 'fuzz', include: ['test/fuzz/**/*.fuzz.test.ts'], testTimeout: 120_000, execArgv: ['--expose-gc'] } },
      // Lab suites boot real kernels under QEMU; they are slow and run one at a time.
      { test: { name: 'lab', include: ['test/lab/**/*.lab.test.ts'], testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false } },
    ],
  },
});
