// Release: the GPU leaves vfio-pci and every function goes back to the driver it came from,
// function 0 first (the kernel links the other functions to it for power management).
import type { HandoffPolicy } from '../../domain/handoff/policy.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { KernelWrite } from '../kernel/kernel-writer.js';
import { DeviceInUse } from '../vfio/holders.js';
import { Binder } from './binder.js';
import { findGpu, underVgaLock, type MovedFunction } from './claim.js';
import type { ArbiterOutcome } from '../vga/arbiter.js';
import { restoreConsole } from './console.js';
import { deviceLane, type HandoffContext } from './context.js';
import { HandoffFailed, HandoffRefused } from './errors.js';

export interface ReleaseResult {
  gpu: PciAddress;
  functions: MovedFunction[];
  consoleErrors: string[];
  vgaArbiter: ArbiterOutcome | null;
  ms: number;
}

export async function releaseGpu(ctx: HandoffContext, address: PciAddress, policy: Pick<HandoffPolicy, 'movablePeers' | 'hostDriver'>): Promise<ReleaseResult> {
  const started = Date.now();
  const gpu = findGpu(ctx, address);
  const own = new Set(gpu.functions.map((f) => f.address));
  // Group peers that moved, and movablePeers outside the group (a USB controller) still on the bus.
  const peers = [...new Set([
    ...gpu.groupPeers.map((p) => p.address).filter((a) => policy.movablePeers.includes(a) || ctx.memory.driverOf(a) !== undefined),
    ...policy.movablePeers.filter((a) => !own.has(a) && ctx.sysfs.exists(`bus/pci/devices/${a}`)),
  ])];
  // Unbinding from vfio-pci blocks in the kernel while a VM has the group open: every call in this
  // lane first checks the GPU's VFIO nodes and refuses, naming the holder.
  const lane = deviceLane(ctx, gpu, peers);
  let touched = false; // a call reached the kernel (a refusal by the in-use check does not)
  const tracked = {
    write: (req: KernelWrite) => lane.write(req).then(() => void (touched = true), (e: unknown) => {
      if (!(e instanceof DeviceInUse)) touched = true;
      throw e;
    }),
  };
  const binder = new Binder(ctx.sysfs, tracked, ctx.writeDeadlineMs);
  const functions = [...gpu.functions.map((f) => f.address), ...peers].sort();
  const onVfio = functions.filter((a) => binder.driverOf(a) === 'vfio-pci');

  const moved: MovedFunction[] = [];
  const t0 = Date.now();
  let step = 'leave vfio-pci';
  let vgaArbiter: ArbiterOutcome | null = null;
  try {
    vgaArbiter = await underVgaLock(ctx, gpu, async () => {
      for (const fn of onVfio) {
        step = `take ${fn} off vfio-pci`;
        await binder.leaveVfio(fn);
      }
      for (const fn of functions) {
        // The config's hostDriver decides for the display function; the others go back where they came from.
        const original = fn === gpu.address && policy.hostDriver ? policy.hostDriver : ctx.memory.driverOf(fn);
        step = `give ${fn} back to ${original ?? 'the driver the kernel matches'}`;
        const from = onVfio.includes(fn) ? 'vfio-pci' : binder.driverOf(fn);
        const to = await binder.bindHost(fn, original);
        if (from !== to) moved.push({ address: fn, from, to, ms: Date.now() - t0 });
      }
    });
  } catch (err) {
    // Refused before the first call: nothing changed.
    if (err instanceof DeviceInUse && !touched) throw new HandoffRefused(gpu.address, [err.message], err.code);
    // Nothing to roll back to: a GPU half on the host is worse than one fully parked, so the error
    // says exactly where it stopped; the caller may park it on vfio-pci again.
    throw new HandoffFailed(gpu.address, step, err as Error);
  }
  const record = ctx.memory.consoleOf(gpu.address);
  const consoleErrors = record ? await restoreConsole(ctx.sysfs, lane, record) : [];
  ctx.memory.forget(functions);
  return { gpu: gpu.address, functions: moved, consoleErrors, vgaArbiter, ms: Date.now() - started };
}
