// Group viability two ways: the kernel's answer (VFIO_GROUP_GET_STATUS) and the sysfs rule
// (Linux >= 5.19: no member bound to a driver that does DMA on the host's behalf). A disagreement
// means Baton's picture of the group is wrong, and is reported.
import { existsSync } from 'node:fs';
import type { PciAddress } from '../../domain/pci-address.js';
import { NativeError } from '../../../native/libc.js';
import { vfioGroupStatus } from '../../../native/vfio.js';
import type { Sysfs } from '../sysfs/sysfs.js';

// vfio-pci and its variants, pci-stub and pcieport set driver_managed_dma.
const DMA_SAFE = /^(vfio-pci|.*-vfio-pci|pci-stub|pcieport)$/;

export interface Viability {
  group: number;
  sysfs: { viable: boolean; blockers: string[] };
  /** The kernel's answer; null with `ioctlError` when the group could not be asked. */
  ioctl: { viable: boolean; containerSet: boolean } | null;
  ioctlError: string | null;
  agree: boolean | null;
}

export function sysfsViability(sysfs: Sysfs, group: number): { viable: boolean; blockers: string[] } {
  const blockers: string[] = [];
  for (const member of sysfs.list(`kernel/iommu_groups/${group}/devices`) as PciAddress[]) {
    const driver = sysfs.linkName(`bus/pci/devices/${member}/driver`);
    if (driver && !DMA_SAFE.test(driver)) blockers.push(`${member} is bound to ${driver}`);
  }
  return { viable: blockers.length === 0, blockers };
}

export function checkViability(sysfs: Sysfs, group: number, devDir = '/dev/vfio'): Viability {
  const rule = sysfsViability(sysfs, group);
  if (!existsSync(`${devDir}/${group}`)) {
    return { group, sysfs: rule, ioctl: null, ioctlError: `${devDir}/${group} does not exist (no member is bound to vfio-pci)`, agree: null };
  }
  try {
    const status = vfioGroupStatus(group, devDir);
    return { group, sysfs: rule, ioctl: status, ioctlError: null, agree: status.viable === rule.viable };
  } catch (err) {
    const busy = err instanceof NativeError && err.code === 'EBUSY';
    const why = busy ? `${devDir}/${group} is open by another process (a VM holds the group)` : (err as Error).message;
    return { group, sysfs: rule, ioctl: null, ioctlError: why, agree: null };
  }
}
