import { configDefaults, defineConfig } from 'vitest/config';
import { LabOrder } from './test/lab/lib/lab-order.js';

// On-demand lab diagnostics: not collected at all unless asked for (a skip would fail CI).
const onDemandLabs = process.env.BATON_LAB_XEN_STRESS ? [] : ['test/lab/xen/node-stability.lab.test.ts'];

export default defineConfig({
  test: {
    // Orders the lab suites (tiny-kernel users last); other files keep vitest's order.
    sequence: { sequencer: LabOrder },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/model/**/*.test.ts'], testTimeout: 20_000 } },
      // Fuzz (fast-check): a bounded number of cases here, the full run with `npm run fuzz -- --full`.
      { test: { name: 'fuzz', include: ['test/fuzz/**/*.fuzz.test.ts'], testTimeout: 120_000, execArgv: ['--expose-gc'] } },
      // Bugs the fuzz and the benches found, asserting the behaviour wanted: they fail until fixed,
      // so they run only on request (BATON_FOUND=1 npx vitest run --project found).
      ...(process.env.BATON_FOUND ? [{ test: { name: 'found', include: ['test/fuzz/found/**/*.repro.ts'], testTimeout: 60_000 } }] : []),
      // Lab suites boot real kernels under QEMU; they are slow and run one at a time.
      {
        test: {
          name: 'lab', include: ['test/lab/**/*.lab.test.ts'], exclude: [...configDefaults.exclude, ...onDemandLabs],
          testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false,
        },
      },
    ],
  },
});
