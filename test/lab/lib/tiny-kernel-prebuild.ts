// Builds the tiny L2 kernel (tiny-kernel.ts) when the cache lacks it, for scripts/test.mjs to run in
// the background, niced, while the lab suites that do not need it use one core: on a machine with a
// cold lab cache this takes the ~10 min build off the critical path. A no-op when cached.
import { buildTinyKernel, cachedTinyKernel } from './tiny-kernel.js';

const t0 = Date.now();
const cached = cachedTinyKernel() !== undefined;
const kernel = await buildTinyKernel();
process.stdout.write(`tiny kernel ${cached ? 'cached' : `built in ${Math.round((Date.now() - t0) / 1000)} s`}: ${kernel.bzImage}\n`);
