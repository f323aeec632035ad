// Whether a GPU may be claimed for vfio-pci, and which functions move with it. Pure: the same
// verdict for the CLI, the helper and the tests.
import type { Gpu, PciFunction } from '../inventory/model.js';
import { VFIO_SAFE_DRIVERS } from '../inventory/classify.js';
import { functionOf, slotOf, type PciAddress } from '../pci-address.js';

export interface HandoffPolicy {
  /** Devices the user allows to move along with the GPU (the config's movablePeers): group peers,
   *  and devices outside its group such as a USB controller (see outsidePeers). */
  movablePeers: PciAddress[];
  /** Hand over the host's boot VGA: release its framebuffer console first, restore it on release. */
  allowBootVga: boolean;
  /** Load vfio-pci when it is not loaded. */
  loadVfioModule: boolean;
  /** The driver the display function gets on release (the config's hostDriver); else the one it left. */
  hostDriver?: string;
}

export const DEFAULT_POLICY: HandoffPolicy = { movablePeers: [], allowBootVga: false, loadVfioModule: false };

export interface ClaimPlan {
  /** Every function that goes to vfio-pci, the GPU's display function first. */
  functions: PciAddress[];
  refusals: string[];
  releaseConsole: boolean;
  loadVfio: boolean;
}

/**
 * The movablePeers outside the GPU's own functions and IOMMU group (a USB controller that carries
 * the keyboard and mouse along, as on Xen): each moves to vfio-pci with the GPU, and each needs an
 * IOMMU group whose other devices are safe to hand over or move too. `bus` is every PCI function.
 */
export function outsidePeers(gpu: Pick<Gpu, 'functions' | 'groupPeers'>, policy: Pick<HandoffPolicy, 'movablePeers'>, bus: readonly PciFunction[]): { peers: PciAddress[]; refusals: string[] } {
  const inside = new Set([...gpu.functions.map((f) => f.address), ...gpu.groupPeers.map((p) => p.address)]);
  const moving = new Set([...gpu.functions.map((f) => f.address), ...policy.movablePeers]);
  const peers: PciAddress[] = [];
  const refusals: string[] = [];
  for (const address of policy.movablePeers.filter((a) => !inside.has(a))) {
    const fn = bus.find((f) => f.address === address);
    if (!fn) refusals.push(`movablePeers names ${address}, which is not on the PCI bus`);
    else if (fn.isBridge) refusals.push(`movablePeers names ${address}, a PCI bridge: bridges stay with the host`);
    else if (fn.iommuGroup === null) refusals.push(`movablePeers names ${address}, which has no IOMMU group: the IOMMU does not cover it`);
    else {
      const blockers = bus.filter((o) => o.iommuGroup === fn.iommuGroup && !o.isBridge && !moving.has(o.address) && o.driver && !VFIO_SAFE_DRIVERS.has(o.driver));
      for (const b of blockers) refusals.push(`${b.address} is bound to the host driver ${b.driver} and shares IOMMU group ${fn.iommuGroup} with ${address} (in movablePeers); name it in movablePeers too, or leave ${address} out`);
      if (!blockers.length) peers.push(address);
    }
  }
  // A guest slot is found through its function 0, and each function keeps its number in the guest.
  const slots = new Map<string, PciAddress[]>();
  for (const p of peers) slots.set(slotOf(p), [...(slots.get(slotOf(p)) ?? []), p]);
  for (const [slot, fns] of slots) {
    if (!fns.some((f) => functionOf(f) === 0)) {
      refusals.push(`movablePeers names ${fns.join(', ')} without ${slot}.0: a device moves into a guest slot with its function 0, so name ${slot}.0 too (it must go to vfio-pci with it)`);
      for (const f of fns) peers.splice(peers.indexOf(f), 1);
    }
  }
  return { peers, refusals };
}

export function planClaim(gpu: Gpu, vfioLoaded: boolean, vfioLoadable: boolean | null, policy: HandoffPolicy, bus: readonly PciFunction[] = []): ClaimPlan {
  const refusals: string[] = [];
  const movable = new Set(policy.movablePeers);
  const peersToMove: PciAddress[] = [];
  for (const peer of gpu.groupPeers) {
    if (movable.has(peer.address)) peersToMove.push(peer.address);
    else if (peer.driver && !VFIO_SAFE_DRIVERS.has(peer.driver)) {
      refusals.push(`group peer ${peer.address} (${peer.name ?? peer.class ?? 'device'}) is bound to the host driver ${peer.driver} and shares IOMMU group ${gpu.iommuGroup}; name it in movablePeers to move it with ${gpu.address}`);
    }
  }
  const outside = outsidePeers(gpu, policy, bus);
  peersToMove.push(...outside.peers);
  refusals.push(...outside.refusals);
  if (gpu.iommuGroup === null) refusals.push(`${gpu.address} has no IOMMU group: the IOMMU is off or does not cover this device`);
  if (gpu.bootVga && !policy.allowBootVga) {
    refusals.push(`${gpu.address} is the host's boot VGA with the console on it; set allowBootVga for it in the config to hand it over`);
  }
  let loadVfio = false;
  if (!vfioLoaded) {
    if (vfioLoadable === false) refusals.push('vfio-pci is not available: the running kernel has no vfio-pci module');
    else if (policy.loadVfioModule) loadVfio = true;
    else refusals.push('vfio-pci is not loaded; load it (modprobe vfio-pci) or set loadVfioModule in the config');
  }
  for (const p of gpu.problems.filter((p) => /^[0-9a-f]{4}:/.test(p))) refusals.push(`cannot read the device state: ${p}`);
  return {
    functions: [...gpu.functions.map((f) => f.address), ...peersToMove],
    refusals,
    releaseConsole: gpu.bootVga && policy.allowBootVga,
    loadVfio,
  };
}

type MatchedEntry = { match: { by: 'address'; address: PciAddress } | { by: 'ids'; vendor: string; device: string; subsystem?: string; serial?: string } };
type FoundGpu = Pick<Gpu, 'address' | 'vendor' | 'device' | 'subsystem' | 'serial'>;

const idsMatch = (m: { vendor: string; device: string; subsystem?: string }, gpu: FoundGpu) =>
  m.vendor === gpu.vendor && m.device === gpu.device && (!m.subsystem || m.subsystem === gpu.subsystem);

/**
 * The configured entry for a GPU the inventory found: by address, or by ids (and the Device Serial
 * Number when the entry names one) for a re-slotted card. `problem` says why an entry that names
 * this card's ids could not be checked: its serial is unreadable (not root, or no DSN capability).
 */
export function resolveConfiguredGpu<T extends MatchedEntry>(gpus: T[], gpu: FoundGpu): { entry: T | undefined; problem: string | null } {
  const byAddress = gpus.find((g) => g.match.by === 'address' && g.match.address === gpu.address);
  if (byAddress) return { entry: byAddress, problem: null };
  const candidates = gpus.filter((g) => g.match.by === 'ids' && idsMatch(g.match, gpu));
  const problems: string[] = [];
  for (const g of candidates) {
    const wanted = g.match.by === 'ids' ? g.match.serial : undefined;
    if (wanted === undefined) return { entry: g, problem: null };
    const serial = gpu.serial;
    if (serial?.dsn === wanted) return { entry: g, problem: null };
    if (!serial || serial.dsn === null) {
      problems.push(`match.serial ${wanted} cannot be checked on ${gpu.address}: ${serial ? serial.why : 'its Device Serial Number was not read'}`);
    }
  }
  return { entry: undefined, problem: problems.length ? problems.join('; ') : null };
}

/** The configured entry for a GPU the inventory found (see resolveConfiguredGpu). */
export function configuredGpu<T extends MatchedEntry>(gpus: T[], gpu: FoundGpu): T | undefined {
  return resolveConfiguredGpu(gpus, gpu).entry;
}

export function policyFrom(entry: { movablePeers: PciAddress[]; allowBootVga: boolean; loadVfioModule: boolean; hostDriver?: string | undefined } | undefined): HandoffPolicy {
  if (!entry) return DEFAULT_POLICY;
  return { movablePeers: entry.movablePeers, allowBootVga: entry.allowBootVga, loadVfioModule: entry.loadVfioModule, ...(entry.hostDriver ? { hostDriver: entry.hostDriver } : {}) };
}
