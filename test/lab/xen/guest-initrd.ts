// The PV guests' ramdisk: static busybox, xen-pcifront and guest-init.sh (load the PCI frontend,
// then idle and report the PCI devices the guest sees).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzippedCpio } from '../lib/cpio.js';
import { moduleFile, type LabKernel } from '../lib/kernel.js';

const BUSYBOX = '/bin/busybox';

export function writeGuestInitrd(file: string, kernel: LabKernel): void {
  const pcifront = moduleFile(kernel, 'xen-pcifront');
  if (!pcifront?.endsWith('.ko')) throw new Error(`xen-pcifront is not a plain module in ${kernel.version}: ${pcifront ?? 'built in'}`);
  writeFileSync(file, gzippedCpio([
    { kind: 'dir', path: 'bin' }, { kind: 'dir', path: 'dev' }, { kind: 'dir', path: 'proc' },
    { kind: 'dir', path: 'sys' }, { kind: 'dir', path: 'modules' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'init', data: readFileSync(join(import.meta.dirname, 'guest-init.sh')), mode: 0o755 },
    { kind: 'file', path: 'modules/xen-pcifront.ko', data: readFileSync(join(kernel.modulesDir, pcifront)) },
  ]));
}
