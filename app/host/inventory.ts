// The read-only inventory of a workstation: what the kernel shows under a sysfs root.
import { resolve } from 'node:path';
import { classifyHost } from '../domain/inventory/classify.js';
import type { HostSnapshot, Inventory } from '../domain/inventory/model.js';
import { loadPciIds, type PciIds } from './pci-ids.js';
import { readConnectors } from './sysfs/drm-reader.js';
import { readIommuGroups } from './sysfs/iommu-reader.js';
import type { DeviceLockGuard } from './sysfs/device-locks.js';
import { listPciAddresses, readPciFunction } from './sysfs/pci-reader.js';
import { Sysfs } from './sysfs/sysfs.js';
import { readVfioAvailability } from './sysfs/vfio-reader.js';

export interface InventoryOptions {
  sysfsRoot?: string;
  /** Names from pci.ids; pass null to leave names out. Default: the installed database, if any. */
  pciIds?: PciIds | null;
  /** The helper's guard: lock-taking attributes of a GPU whose kernel lane is busy are not read. */
  deviceLocks?: DeviceLockGuard;
}

export function readHostSnapshot(opts: InventoryOptions = {}): HostSnapshot {
  const sysfs = new Sysfs(opts.sysfsRoot ?? '/sys');
  const ids = opts.pciIds === undefined ? loadPciIds() : opts.pciIds;
  const problems: string[] = [];
  const groups = readIommuGroups(sysfs, problems);
  const groupCount = groups.size; // before the cross-check fills in groups that devices claim
  const functions = listPciAddresses(sysfs, problems).map((a) => readPciFunction(sysfs, a, ids, opts.deviceLocks));
  crossCheckGroups(functions, groups, problems);
  return {
    functions,
    groups,
    connectors: functions.flatMap((f) => readConnectors(sysfs, f.address)),
    vfio: readVfioAvailability(sysfs, groupCount, { live: resolve(sysfs.root) === '/sys' }),
    problems,
  };
}

export function readInventory(opts: InventoryOptions = {}): Inventory {
  return classifyHost(readHostSnapshot(opts));
}

/** A device's iommu_group link and the group's member list must agree; say so where they do not. */
function crossCheckGroups(functions: HostSnapshot['functions'], groups: HostSnapshot['groups'], problems: string[]): void {
  for (const f of functions) {
    if (f.iommuGroup === null) continue;
    const members = groups.get(f.iommuGroup);
    if (!members) {
      f.problems.push(`iommu_group: group ${f.iommuGroup} is missing from kernel/iommu_groups`);
      // Keep the device in the group it claims, so grouping still works on a partial tree.
      groups.set(f.iommuGroup, [f.address]);
    } else if (!members.includes(f.address)) {
      f.problems.push(`iommu_group: group ${f.iommuGroup} does not list this device`);
      members.push(f.address);
    }
  }
  const known = new Set(functions.map((f) => f.address));
  for (const [group, members] of groups) {
    for (const m of members) if (!known.has(m)) problems.push(`IOMMU group ${group} lists ${m}, which is not on the PCI bus`);
  }
}
