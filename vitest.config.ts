import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/model/**/*.test.ts'], testTimeout: 20_000 } },
      // Lab suites boot real kernels under QEMU; they are slow and run one at a time.
      { test: { name: 'lab', include: ['test/lab/**/*.lab.test.ts'], testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false } },
    ],
  },
});
