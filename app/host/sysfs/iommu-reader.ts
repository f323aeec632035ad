// IOMMU groups as /sys/kernel/iommu_groups lists them.
import { isCanonicalPciAddress, type PciAddress } from '../../domain/pci-address.js';
import type { Sysfs } from './sysfs.js';

export function readIommuGroups(sysfs: Sysfs, problems: string[]): Map<number, PciAddress[]> {
  const groups = new Map<number, PciAddress[]>();
  for (const name of sysfs.list('kernel/iommu_groups')) {
    if (!/^\d+$/.test(name)) {
      problems.push(`kernel/iommu_groups/${name}: not a group number, ignored`);
      continue;
    }
    const members = sysfs.list(`kernel/iommu_groups/${name}/devices`).filter((m): m is PciAddress => {
      if (isCanonicalPciAddress(m)) return true;
      problems.push(`kernel/iommu_groups/${name}/devices/${m}: not a PCI address, ignored`);
      return false;
    });
    groups.set(Number(name), members);
  }
  return groups;
}
