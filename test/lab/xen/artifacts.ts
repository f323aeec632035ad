// Xen 4.17 unpacked from Debian packages into the lab cache (never installed).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { unpackDebs } from '../lib/debs.js';

/** Hypervisor, tools and their libraries: the list from the lab notes. */
export const XEN_PACKAGES = [
  'xen-hypervisor-4.17-amd64', 'xen-utils-4.17', 'xen-utils-common', 'xenstore-utils',
  'libxenmisc4.17', 'libxenstore4', 'libxengnttab1', 'libxenevtchn1', 'libxencall1',
  'libxenforeignmemory1', 'libxendevicemodel1', 'libxentoolcore1', 'libxentoollog1',
  'libxenhypfs1', 'libyajl2', 'libnl-3-200', 'libnl-route-3-200',
];

export interface XenArtifacts {
  /** Root of the unpacked packages (usr/, etc/, boot/): dom0 runs the tools from here. */
  xenRoot: string;
  /** The gunzipped hypervisor: an ELF multiboot image QEMU's -kernel loads. */
  hypervisor: string;
}

/** Downloads and unpacks once; throws with a reason when apt-get or the packages are unavailable. */
export function fetchXenArtifacts(): XenArtifacts {
  const xenRoot = unpackDebs('xen', XEN_PACKAGES);
  const gz = join(xenRoot, 'boot', 'xen-4.17-amd64.gz');
  const hypervisor = join(xenRoot, 'boot', 'xen-4.17-amd64');
  if (!existsSync(hypervisor)) {
    if (!existsSync(gz)) throw new Error(`xen-hypervisor package unpacked without ${gz}`);
    execFileSync('gzip', ['-dk', gz], { timeout: 60_000 });
  }
  return { xenRoot, hypervisor };
}
