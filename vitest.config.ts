import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: ['test/unit/renderer/**', '**/node_modules/**'], testTimeout: 20_000 } },
      // The renderer's pure functions and its components (jsdom, the fake client).
      {
        plugins: [react()],
        test: { name: 'renderer', include: ['test/unit/renderer/**/*.test.{ts,tsx}'], environment: 'jsdom', setupFiles: ['test/unit/renderer/setup.ts'], testTimeout: 20_000 },
      },
      // Real Chromium against a real simulated helper and `baton ui`; one file at a time.
      { test: { name: 'e2e', include: ['test/e2e/**/*.e2e.test.ts'], testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false } },
      // The deb and rpm as built here, checked and installed into a throwaway Debian root (test/package).
      { test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 1_800_000, fileParallelism: false } },
      // Lab suites boot real kernels under QEMU; they are slow and run one at a time.
      { test: { name: 'lab', include: ['test/lab/**/*.lab.test.ts'], testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false } },
    ],
  },
});
