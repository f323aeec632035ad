// Debian packages for the labs, downloaded and unpacked into a cache folder: never installed
// into the machine, never touching /boot.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './paths.js';

export const LAB_CACHE = resolve(process.env.BATON_LAB_CACHE ?? join(REPO_ROOT, '.cache/lab'));

function run(cmd: string, args: string[], cwd?: string): string {
  // A download that stalls must not hang a test run.
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

/** The versioned kernel package that linux-image-amd64 currently depends on (changes with security updates). */
export function currentKernelPackage(): string {
  const out = run('apt-cache', ['depends', 'linux-image-amd64']);
  const m = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)/.exec(out);
  if (!m?.[1]) throw new Error(`cannot find the kernel package linux-image-amd64 depends on; apt-cache said:\n${out}`);
  return m[1];
}

/**
 * Downloads and unpacks `packages` into LAB_CACHE/<name>/root, once. Returns the root.
 * The stamp lists the packages, so a changed list (a new kernel version) unpacks again.
 */
export function unpackDebs(name: string, packages: string[]): string {
  const dir = join(LAB_CACHE, name);
  const root = join(dir, 'root');
  const stamp = join(dir, 'stamp');
  const want = [...packages].sort().join('\n');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return root;
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  mkdirSync(root, { recursive: true });
  run('apt-get', ['download', ...packages], debs);
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg', ['-x', join(debs, deb), root]);
  writeFileSync(stamp, want);
  return root;
}

/** The unpacked kernel: its vmlinuz and modules folder. */
export function unpackKernel(): { version: string; vmlinuz: string; modules: string; root: string } {
  const pkg = currentKernelPackage();
  const root = unpackDebs('kernel', [pkg]);
  const version = pkg.replace(/^linux-image-/, '');
  const vmlinuz = join(root, 'boot', `vmlinuz-${version}`);
  const modules = join(root, 'lib', 'modules', version);
  if (!existsSync(vmlinuz) || !existsSync(modules)) throw new Error(`kernel package ${pkg} unpacked without ${vmlinuz} or ${modules}`);
  return { version, vmlinuz, modules, root };
}
