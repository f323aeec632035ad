// Builds the project (npm run build: tsc, then scripts/bundle.mjs) so a lab can run bin/baton and
// the bundled lab tools inside L1. Another part of the tree failing to type-check still emits
// JavaScript; only missing output makes the lab skip. Under `npm test` the build step has run
// already (BATON_BUILD_DONE=1): each suite then only checks the output instead of spending a tsc
// run (20-90 s on these machines) per suite file.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** What the labs run from the build: the CLI, its bundle and the bundled in-guest tools. */
const OUTPUTS = ['dist/app/cli/bin.js', 'dist/bundle/baton.js', 'dist/test/tools/qmp-tool.js'];

/** undefined when dist/ has the CLI and the bundles; otherwise why not. */
export function buildProject(): string | undefined {
  if (process.env.BATON_BUILD_DONE !== '1') {
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    if (!existsSync(tsc)) return 'typescript is not installed (npm ci)';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.json')], { cwd: REPO_ROOT, stdio: 'pipe', timeout: 300_000 });
    } catch (err) {
      const output = String((err as { stdout?: Buffer }).stdout ?? '').split('\n').slice(0, 5).join('\n');
      process.stderr.write(`[lab] tsc reported errors (JavaScript is emitted anyway):\n${output}\n`);
    }
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/bundle.mjs')], { cwd: REPO_ROOT, stdio: 'pipe', timeout: 300_000 });
    } catch (err) {
      return `scripts/bundle.mjs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).split('\n').slice(0, 5).join('\n')}`;
    }
  }
  const missing = OUTPUTS.filter((f) => !existsSync(join(REPO_ROOT, f)));
  return missing.length === 0 ? undefined : `${missing.join(', ')} not produced by the build (npm run build)`;
}
