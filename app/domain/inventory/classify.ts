// Turns what the kernel shows into GPUs: a display function with the companions in its slot,
// the peers it shares an IOMMU group with, and a verdict on whether it can be handed to a VM.
import { comparePciAddress, functionOf, slotOf, type PciAddress } from '../pci-address.js';
import type { FunctionSummary, Gpu, HostSnapshot, Inventory, Monitor, PciFunction, Reason } from './model.js';

/** Drivers that make no DMA on the host's behalf: a group member bound to one of them is no obstacle. */
export const VFIO_SAFE_DRIVERS = new Set(['vfio-pci', 'pci-stub', 'pciback', 'xen-pciback', 'pcieport']);

export function isDisplayClass(cls: string | null): boolean {
  return cls !== null && /^0x03[0-9a-f]{4}$/.test(cls);
}

export function classifyHost(host: HostSnapshot): Inventory {
  const byAddress = new Map(host.functions.map((f) => [f.address, f]));
  const slots = new Map<string, PciFunction[]>();
  for (const f of host.functions) {
    const list = slots.get(slotOf(f.address)) ?? [];
    list.push(f);
    slots.set(slotOf(f.address), list);
  }

  const gpus: Gpu[] = [];
  for (const [, members] of [...slots].sort(([a], [b]) => comparePciAddress(a, b))) {
    members.sort((a, b) => functionOf(a.address) - functionOf(b.address));
    const display = members.find((f) => isDisplayClass(f.class));
    if (!display) continue;
    gpus.push(buildGpu(display, members, host, byAddress));
  }

  return {
    gpus,
    functions: host.functions,
    iommuGroups: [...host.groups].sort(([a], [b]) => a - b).map(([group, devices]) => ({ group, devices })),
    vfio: host.vfio,
    problems: host.problems,
  };
}

function summary(f: PciFunction): FunctionSummary {
  return { address: f.address, class: f.class, driver: f.driver, vendor: f.vendor, device: f.device, name: f.deviceName };
}

function buildGpu(display: PciFunction, slot: PciFunction[], host: HostSnapshot, byAddress: Map<PciAddress, PciFunction>): Gpu {
  const inSlot = new Set(slot.map((f) => f.address));
  const groupMembers = display.iommuGroup === null ? [] : (host.groups.get(display.iommuGroup) ?? []);
  const others = groupMembers.filter((a) => !inSlot.has(a)).map((a) => byAddress.get(a)).filter((f): f is PciFunction => !!f);
  const peers = others.filter((f) => !f.isBridge);
  const bridges = others.filter((f) => f.isBridge);
  // Companions keep the kernel's order, but the display function always leads.
  const functions = [display, ...slot.filter((f) => f !== display)];

  const reasons = assess(display, functions, peers, host);
  const treeProblems = functions.flatMap((f) => f.problems.map((p) => `${f.address}: ${p}`));
  const blockers = reasons.filter((r) => r.severity === 'blocker');

  return {
    address: display.address,
    class: display.class,
    vendor: display.vendor,
    device: display.device,
    subsystem: display.subsystemVendor && display.subsystemDevice ? `${display.subsystemVendor}:${display.subsystemDevice}` : null,
    name: [display.vendorName, display.deviceName].filter(Boolean).join(' ') || null,
    iommuGroup: display.iommuGroup,
    bootVga: display.bootVga,
    driver: display.driver,
    functions: functions.map(summary),
    groupPeers: peers.map(summary),
    bridges: bridges.map(summary),
    resetMethods: display.resetMethods,
    romPresent: display.romPresent,
    parentBridge: display.parentBridge,
    assignable: blockers.length === 0 && treeProblems.length === 0,
    reasons,
    problems: [...blockers.map((r) => r.message), ...treeProblems],
    monitors: monitorsOf(functions, host),
    mdevTypes: display.mdevTypes,
    ...(display.serial ? { serial: display.serial } : {}),
  };
}

function describe(f: PciFunction): string {
  const what = f.deviceName ?? f.class ?? 'device';
  return `${f.address} (${what}${f.driver ? `, driver ${f.driver}` : ''})`;
}

function assess(display: PciFunction, functions: PciFunction[], peers: PciFunction[], host: HostSnapshot): Reason[] {
  const reasons: Reason[] = [];
  const add = (code: Reason['code'], severity: Reason['severity'], message: string) => reasons.push({ code, severity, message });

  if (display.bootVga) {
    add('boot-vga', 'blocker', `${display.address} is the host's boot VGA device (its firmware console runs on it); hand it over only with allowBootVga in the config, which releases the framebuffer first`);
  }
  if (host.vfio.xenDom0) {
    add('xen-iommu', 'warning', 'Xen owns the IOMMU, so dom0 shows no IOMMU groups and Baton cannot list group peers here; xl refuses an assignment that would break isolation');
  } else if (!host.vfio.iommuEnabled) {
    add('no-iommu', 'blocker', 'the IOMMU is off (no IOMMU groups): enable VT-d/AMD-Vi in the firmware and add intel_iommu=on or amd_iommu=on to the kernel command line');
  } else {
    for (const f of functions) {
      if (f.iommuGroup === null) add('no-iommu-group', 'blocker', `${f.address} has no IOMMU group, so it cannot be isolated for a VM`);
    }
  }
  for (const peer of peers) {
    if (peer.driver && !VFIO_SAFE_DRIVERS.has(peer.driver)) {
      add('peer-bound-to-host-driver', 'blocker', `group peer ${describe(peer)} is bound to a host driver and shares IOMMU group ${display.iommuGroup} with the GPU: name it in movablePeers to move it along, or move the GPU to a slot with its own group`);
    }
  }
  const resettable = functions.some((f) => f.resetMethods.length > 0);
  if (!resettable) {
    if (display.parentBridge === null) {
      add('no-reset-method', 'blocker', `${display.address} has no reset method (reset_method is empty and it sits on the root bus, so no bus reset): the next VM would inherit its state`);
    } else {
      add('bus-reset-only', 'warning', `no function of ${display.address} can be reset alone; Baton resets the whole slot through ${display.parentBridge} (VFIO hot reset)`);
    }
  }
  if (!host.vfio.vfioPciLoaded && !host.vfio.xenDom0) {
    if (host.vfio.vfioPciLoadable === false) add('vfio-unavailable', 'blocker', 'vfio-pci is not loaded and the running kernel has no vfio-pci module');
    else add('vfio-not-loaded', 'warning', 'vfio-pci is not loaded; Baton loads it at the first switch when the config sets loadVfioModule');
  }
  return reasons;
}

function monitorsOf(functions: PciFunction[], host: HostSnapshot): Monitor[] {
  const mine = new Set(functions.map((f) => f.address));
  return host.connectors
    .filter((c) => mine.has(c.pciAddress))
    .map((c) => ({
      connector: c.connector,
      status: c.status,
      enabled: c.enabled,
      name: c.edid?.monitorName ?? null,
      manufacturerId: c.edid?.manufacturerId ?? null,
      productCode: c.edid?.productCode ?? null,
      serialNumber: c.edid?.serialNumber ?? null,
      serialText: c.edid?.serialText ?? null,
      preferredMode: c.edid?.preferredMode ? `${c.edid.preferredMode.width}x${c.edid.preferredMode.height}@${c.edid.preferredMode.refreshHz}` : null,
      mode: c.edid?.preferredMode ?? null,
    }));
}
