// The lab kernel: the Debian kernel unpacked into the cache, with modules.dep generated so that
// modprobe works inside the lab, and a lookup of module files by name.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unpackKernel } from './debs.js';

export interface LabKernel {
  version: string;
  vmlinuz: string;
  /** lib/modules/<version> of the unpacked kernel, with modules.dep. */
  modulesDir: string;
}

/** Unpacks the kernel (once) and runs depmod on it (once per version). Throws with a reason. */
export function prepareLabKernel(): LabKernel {
  const { version, vmlinuz, modules, root } = unpackKernel();
  const stamp = join(modules, '.depmod-done');
  if (!existsSync(stamp) || !existsSync(join(modules, 'modules.dep'))) {
    // The package's postinst would run depmod; unpacking with dpkg -x skips it.
    execFileSync(depmodPath(), ['-b', root, version], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    writeFileSync(stamp, version);
  }
  return { version, vmlinuz, modulesDir: modules };
}

function depmodPath(): string {
  for (const p of ['/usr/sbin/depmod', '/sbin/depmod']) if (existsSync(p)) return p;
  throw new Error('depmod not found (Debian package kmod; run test/lab/setup.sh)');
}

const normalize = (name: string): string => name.replace(/-/g, '_');

/** Module file (relative to modulesDir) by module name, from modules.dep; undefined if built in. */
export function moduleFile(kernel: LabKernel, name: string): string | undefined {
  const wanted = normalize(name);
  for (const line of readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const file = line.slice(0, line.indexOf(':'));
    const base = file.slice(file.lastIndexOf('/') + 1).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '');
    if (normalize(base) === wanted) return file;
  }
  const builtin = readFileSync(join(kernel.modulesDir, 'modules.builtin'), 'utf8');
  if (builtin.split('\n').some((l) => normalize(l.slice(l.lastIndexOf('/') + 1).replace(/\.ko$/, '')) === wanted)) return undefined;
  throw new Error(`kernel module ${name} is neither a module nor built into ${kernel.version}`);
}

