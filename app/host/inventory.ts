// The read-only inventory of a workstation: what the kernel shows under a sysfs root.
import { resolve } from 'node:path';
import { classifyHost, isDisplayClass } from '../domain/inventory/classify.js';
import type { HostSnapshot, Inventory } from '../domain/inventory/model.js';
import { slotOf, type PciAddress } from '../domain/pci-address.js';
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
  /**
   * Read only what decides about some devices: the given functions (or every display function, for
   * 'gpus'), the other functions in their slots and the members of their IOMMU groups. A switch
   * needs one GPU, not the whole bus: under emulation a full read costs a second per claim.
   * Default: every function.
   */
  scope?: readonly PciAddress[] | 'gpus';
}

export function readHostSnapshot(opts: InventoryOptions = {}): HostSnapshot {
  const sysfs = new Sysfs(opts.sysfsRoot ?? '/sys');
  const ids = opts.pciIds === undefined ? loadPciIds() : opts.pciIds;
  const problems: string[] = [];
  const groups = readIommuGroups(sysfs, problems);
  const groupCount = groups.size; // before the cross-check fills in groups that devices claim
  const onBus = listPciAddresses(sysfs, problems);
  const wanted = opts.scope === undefined ? onBus : inScope(sysfs, onBus, groups, opts.scope);
  const functions = wanted.map((a) => readPciFunction(sysfs, a, ids, opts.deviceLocks));
  crossCheckGroups(functions, groups, new Set(onBus), problems);
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

/** The functions on the bus that share a slot or an IOMMU group with a seed (the seeds among them). */
function inScope(sysfs: Sysfs, onBus: readonly PciAddress[], groups: HostSnapshot['groups'], scope: readonly PciAddress[] | 'gpus'): PciAddress[] {
  const seeds = scope === 'gpus' ? onBus.filter((a) => isDisplayClass(sysfs.text(`bus/pci/devices/${a}/class`)?.toLowerCase() ?? null)) : scope;
  const listedIn = new Map<PciAddress, number>();
  for (const [group, members] of groups) for (const m of members) listedIn.set(m, group);
  // A device's own iommu_group link counts as much as the group's listing (the full read's
  // cross-check joins the two), so a tree where they disagree is scoped as it is read in full.
  const groupsOf = (a: PciAddress): number[] => {
    const linked = Number(sysfs.linkName(`bus/pci/devices/${a}/iommu_group`));
    return [listedIn.get(a), Number.isInteger(linked) ? linked : undefined].filter((g): g is number => g !== undefined);
  };
  const slots = new Set(seeds.map(slotOf));
  const seedGroups = new Set(seeds.flatMap(groupsOf));
  return onBus.filter((a) => slots.has(slotOf(a)) || groupsOf(a).some((g) => seedGroups.has(g)));
}

/** A device's iommu_group link and the group's member list must agree; say so where they do not. */
function crossCheckGroups(functions: HostSnapshot['functions'], groups: HostSnapshot['groups'], onBus: ReadonlySet<PciAddress>, problems: string[]): void {
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
  for (const [group, members] of groups) {
    for (const m of members) if (!onBus.has(m)) problems.push(`IOMMU group ${group} lists ${m}, which is not on the PCI bus`);
  }
}
