// Builds the lab initrd: static busybox, the modules needed before the 9p root is mounted and the
// generic /init (guest/init.sh). One initrd per kernel version, cached; reusable by any lab that
// boots the Debian kernel (directly, or as Xen's dom0).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzippedCpio, type CpioEntry } from './cpio.js';
import { LAB_CACHE } from './debs.js';
import { moduleFile, type LabKernel } from './kernel.js';
import { REPO_ROOT } from './paths.js';

/** virtio + 9p (in load order, per the lab notes), then overlay for the /usr/lib modules layer. */
export const EARLY_MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci',
  'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p', 'overlay',
];

const INIT_SCRIPT = join(REPO_ROOT, 'test/lab/lib/guest/init.sh');
const BUSYBOX = '/bin/busybox';

/** busybox insmod cannot be trusted with compressed modules: hand it plain .ko files. */
function plainModule(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : undefined;
  if (!tool) throw new Error(`unknown module compression: ${path}`);
  return execFileSync(tool, ['-dc', path], { maxBuffer: 64 << 20, timeout: 60_000 });
}

export function buildInitrd(kernel: LabKernel): string {
  const init = readFileSync(INIT_SCRIPT);
  const dir = join(LAB_CACHE, 'initrd');
  const out = join(dir, `initrd-${kernel.version}.cpio.gz`);
  const stampPath = `${out}.stamp`;
  // Rebuild when the init script, the module list or the kernel's location changes.
  const stamp = createHash('sha256').update(init).update(EARLY_MODULES.join(',')).update(kernel.modulesDir).digest('hex');
  if (existsSync(out) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp) return out;
  if (!existsSync(BUSYBOX) || !readFileSync(BUSYBOX).subarray(0, 4).equals(Buffer.from('\x7fELF'))) {
    throw new Error('static busybox not found at /bin/busybox (Debian package busybox-static; run test/lab/setup.sh)');
  }
  const entries: CpioEntry[] = [
    { kind: 'dir', path: 'bin' }, { kind: 'dir', path: 'dev' }, { kind: 'dir', path: 'modules' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
    { kind: 'file', path: 'init', data: init, mode: 0o755 },
  ];
  const koNames: string[] = [];
  for (const name of EARLY_MODULES) {
    const rel = moduleFile(kernel, name);
    if (rel === undefined) continue; // built into this kernel
    const ko = `${basename(rel).replace(/\.ko.*$/, '')}.ko`;
    entries.push({ kind: 'file', path: `modules/${ko}`, data: plainModule(join(kernel.modulesDir, rel)) });
    koNames.push(ko);
  }
  const conf = `LAB_EARLY_MODULES="${koNames.join(' ')}"\nLAB_MODULES_DIR="${kernel.modulesDir}"\n`;
  entries.push({ kind: 'file', path: 'lab.conf', data: Buffer.from(conf) });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${out}.tmp`, gzippedCpio(entries));
  renameSync(`${out}.tmp`, out);
  writeFileSync(stampPath, stamp);
  return out;
}
