// Builds the renderer (product and bench page) once per run, under the heavy-job lock's discipline:
// the caller is a test, vite is quick; a fresh build makes the e2e test the code as it is now.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..');
export const PRODUCT_DIST = join(REPO, 'renderer', 'dist');
export const BENCH_DIST = join(REPO, '.cache', 'renderer-bench');

export function buildRenderer(mode: 'production' | 'bench'): string {
  const r = spawnSync('npx', ['vite', 'build', '-c', 'renderer/vite.config.ts', '--mode', mode, '--logLevel', 'warn'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vite build --mode ${mode} failed:\n${r.stdout}\n${r.stderr}`);
  const out = mode === 'bench' ? BENCH_DIST : PRODUCT_DIST;
  if (!existsSync(join(out, mode === 'bench' ? 'bench.html' : 'index.html'))) throw new Error(`vite build left no page in ${out}`);
  return out;
}
