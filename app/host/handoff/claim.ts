// Claim: every function of a GPU (and the peers the user lets move with it) goes to vfio-pci.
// Nothing is left half-done: a failing step undoes the ones before it.
import { planClaim, type HandoffPolicy } from '../../domain/handoff/policy.js';
import type { Gpu, Inventory } from '../../domain/inventory/model.js';
import type { PciAddress } from '../../domain/pci-address.js';
import { UndoStack } from '../../domain/undo-stack.js';
import { readInventory } from '../inventory.js';
import { checkViability, type Viability } from '../vfio/viability.js';
import { withVgaLock, type ArbiterOutcome } from '../vga/arbiter.js';
import { Binder } from './binder.js';
import { releaseConsole, restoreConsole } from './console.js';
import { deviceLane, type HandoffContext } from './context.js';
import { HandoffFailed, HandoffRefused } from './errors.js';

export interface MovedFunction {
  address: PciAddress;
  from: string | null;
  to: string | null;
  ms: number;
}

export interface ClaimResult {
  gpu: PciAddress;
  group: number | null;
  functions: MovedFunction[];
  viability: Viability | null;
  /** Whether the handoff ran under the VGA arbiter's lock (null: not a VGA device, or not the live system). */
  vgaArbiter: ArbiterOutcome | null;
  ms: number;
}

/** A GPU that may decode legacy VGA is handed over holding the arbiter's lock; others need none. */
export async function underVgaLock(ctx: HandoffContext, gpu: Gpu, work: () => Promise<void>): Promise<ArbiterOutcome | null> {
  if (!ctx.live || !gpu.class?.startsWith('0x0300')) {
    await work();
    return null;
  }
  return (await withVgaLock(gpu.address, work, ctx.vgaLocks)).arbiter;
}

/** Finds the GPU an address names: its display function, or any of its companions. */
export function findGpu(ctx: HandoffContext, address: PciAddress): Gpu {
  return locateGpu(ctx, address, []).gpu;
}

/**
 * The GPU with what decides about it read from sysfs (its slot, its IOMMU group, and the given
 * peers with theirs), so a caller needs one sysfs walk, and not of the whole bus.
 */
function locateGpu(ctx: HandoffContext, address: PciAddress, peers: readonly PciAddress[]): { gpu: Gpu; inventory: Inventory } {
  const inventory = readInventory({ sysfsRoot: ctx.sysfs.root, pciIds: null, deviceLocks: ctx.deviceLocks, scope: [address, ...peers] });
  const gpu = inventory.gpus.find((g) => g.functions.some((f) => f.address === address));
  if (gpu) return { gpu, inventory };
  const fn = inventory.functions.find((f) => f.address === address);
  throw new HandoffRefused(address, [fn ? `${address} is not a GPU or a function of one (class ${fn.class ?? 'unknown'})` : `no PCI device ${address} in ${ctx.sysfs.root}`]);
}

export async function claimGpu(ctx: HandoffContext, address: PciAddress, policy: HandoffPolicy): Promise<ClaimResult> {
  const started = Date.now();
  const { gpu, inventory } = locateGpu(ctx, address, policy.movablePeers);
  const plan = planClaim(gpu, inventory.vfio.vfioPciLoaded, inventory.vfio.vfioPciLoadable, policy, inventory.functions);
  if (plan.refusals.length) throw new HandoffRefused(gpu.address, plan.refusals);

  const own = new Set(gpu.functions.map((f) => f.address));
  const lane = deviceLane(ctx, gpu, plan.functions.filter((a) => !own.has(a)));
  const binder = new Binder(ctx.sysfs, lane, ctx.writeDeadlineMs);
  const undo = new UndoStack();
  const moved: MovedFunction[] = [];
  let step = 'prepare';
  let fresh: PciAddress[] = [];
  try {
    if (plan.loadVfio) {
      step = 'load vfio-pci';
      await ctx.loadModule('vfio-pci');
    }
    // Remember where each function came from before touching it: a crash in between still knows.
    fresh = plan.functions.filter((a) => binder.driverOf(a) !== 'vfio-pci' && ctx.memory.driverOf(a) === undefined);
    ctx.memory.remember(new Map(fresh.map((a) => [a, binder.driverOf(a)])));
    if (plan.releaseConsole) {
      step = 'release the boot console';
      const record = await releaseConsole(ctx.sysfs, lane);
      ctx.memory.rememberConsole(gpu.address, record);
      undo.push('restore the boot console', async () => {
        const errors = await restoreConsole(ctx.sysfs, lane, record);
        if (errors.length) throw new Error(errors.join('; '));
      });
    }
    const moveAll = async () => {
      for (const fn of plan.functions) {
        const from = binder.driverOf(fn);
        if (from === 'vfio-pci') continue;
        step = `move ${fn} from ${from ?? 'no driver'} to vfio-pci`;
        const t0 = Date.now();
        undo.push(`give ${fn} back to ${from ?? 'no driver'}`, async () => {
          await binder.leaveVfio(fn);
          await binder.bindHost(fn, from);
        });
        await binder.toVfio(fn);
        moved.push({ address: fn, from, to: 'vfio-pci', ms: Date.now() - t0 });
      }
    };
    const arbiter = await underVgaLock(ctx, gpu, moveAll);
    step = 'check the group';
    const viability = gpu.iommuGroup === null || !ctx.live ? null : checkViability(ctx.sysfs, gpu.iommuGroup, ctx.devVfio);
    if (viability && !viability.sysfs.viable) throw new Error(`IOMMU group ${gpu.iommuGroup} is not viable: ${viability.sysfs.blockers.join('; ')}`);
    if (viability?.ioctl && !viability.ioctl.viable) throw new Error(`the kernel says IOMMU group ${gpu.iommuGroup} is not viable`);
    // Peers outside the GPU's group (a USB controller) bring their own group: it must be viable too.
    const groupOf = (a: PciAddress) => inventory.functions.find((f) => f.address === a)?.iommuGroup ?? null;
    for (const group of new Set(plan.functions.map(groupOf).filter((g): g is number => g !== null && g !== gpu.iommuGroup))) {
      step = `check IOMMU group ${group}`;
      if (!ctx.live) continue;
      const other = checkViability(ctx.sysfs, group, ctx.devVfio);
      if (!other.sysfs.viable) throw new Error(`IOMMU group ${group} is not viable: ${other.sysfs.blockers.join('; ')}`);
      if (other.ioctl && !other.ioctl.viable) throw new Error(`the kernel says IOMMU group ${group} is not viable`);
    }
    undo.clear();
    return { gpu: gpu.address, group: gpu.iommuGroup, functions: moved, viability, vgaArbiter: arbiter, ms: Date.now() - started };
  } catch (err) {
    const report = await undo.unwind();
    if (report.failed.length === 0) ctx.memory.forget(fresh);
    throw new HandoffFailed(gpu.address, step, err as Error, report.undone, report.failed);
  }
}
