// Builds the project (npm run build's tsc) so a lab can run bin/baton inside L1. Another part of
// the tree failing to type-check still emits JavaScript; only missing output makes the lab skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** undefined when dist/ has the CLI; otherwise why not. */
export function buildProject(): string | undefined {
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  if (!existsSync(tsc)) return 'typescript is not installed (npm ci)';
  try {
    execFileSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.json')], { cwd: REPO_ROOT, stdio: 'pipe', timeout: 300_000 });
  } catch (err) {
    const output = String((err as { stdout?: Buffer }).stdout ?? '').split('\n').slice(0, 5).join('\n');
    process.stderr.write(`[lab] tsc reported errors (JavaScript is emitted anyway):\n${output}\n`);
  }
  const cli = join(REPO_ROOT, 'dist/app/cli/bin.js');
  return existsSync(cli) ? undefined : `${cli} was not produced by the build`;
}
