// Whether VFIO can be used: the IOMMU is on, vfio-pci is loaded (or loadable), /dev/vfio exists.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { VfioAvailability } from '../../domain/inventory/model.js';
import type { Sysfs } from './sysfs.js';

export interface VfioProbeOptions {
  /** True when the sysfs root is the running kernel's /sys: then /dev and /lib/modules tell the truth too. */
  live: boolean;
}

export function readVfioAvailability(sysfs: Sysfs, groupCount: number, opts: VfioProbeOptions): VfioAvailability {
  const vfioPciLoaded = sysfs.exists('bus/pci/drivers/vfio-pci') || sysfs.exists('module/vfio_pci');
  return {
    vfioPciLoaded,
    devVfio: opts.live ? existsSync('/dev/vfio') : null,
    iommuEnabled: groupCount > 0,
    vfioPciLoadable: vfioPciLoaded ? true : opts.live ? moduleKnown('vfio-pci') : null,
    xenDom0: isXenDom0(sysfs, opts.live),
  };
}

/** Built in or present as a module for the running kernel (modules.builtin / modules.dep). */
function moduleKnown(name: string): boolean | null {
  const dir = `/lib/modules/${release()}`;
  const file = `${name.replace(/-/g, '_')}.ko`;
  const alt = `${name}.ko`;
  try {
    for (const list of ['modules.builtin', 'modules.dep']) {
      const text = readFileSync(`${dir}/${list}`, 'utf8');
      if (text.includes(`/${file}`) || text.includes(`/${alt}`)) return true;
    }
    return false;
  } catch {
    return null;
  }
}

/** Xen exposes itself in /sys/hypervisor; only the control domain has the real PCI bus and xenstored. */
function isXenDom0(sysfs: Sysfs, live: boolean): boolean {
  if (sysfs.text('hypervisor/type') !== 'xen') return false;
  if (!live) return true;
  try {
    return readFileSync('/proc/xen/capabilities', 'utf8').includes('control_d');
  } catch {
    return false;
  }
}
