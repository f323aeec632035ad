// Resetting a GPU so the next VM finds it clean: the kernel's per-function reset with a chosen
// method, or a VFIO hot reset (secondary bus reset) for a multi-function GPU behind a bridge.
// Each reset is timed and verified: the device must answer config reads with its vendor id.
import type { Gpu } from '../../domain/inventory/model.js';
import type { PciAddress } from '../../domain/pci-address.js';
import { findGpu } from '../handoff/claim.js';
import { deviceLane, type HandoffContext } from '../handoff/context.js';
import { KernelWriteError, type KernelLane } from '../kernel/kernel-writer.js';
import { DeviceInUse } from '../vfio/holders.js';

export const RESET_METHODS = ['auto', 'flr', 'pm', 'bus', 'device_specific', 'hot_reset'] as const;
export type ResetMethod = (typeof RESET_METHODS)[number];

export interface FunctionReset {
  address: PciAddress;
  /** The kernel method used ("flr", "bus", ..., "hot_reset"). */
  method: string;
  ms: number;
  /** The vendor id read back from config space after the reset. */
  vendorAfter: string;
}

export interface ResetResult {
  gpu: PciAddress;
  resets: FunctionReset[];
  ms: number;
}

/** `code`: EINUSE (a process holds the GPU's VFIO nodes: nothing was done), EWEDGED, ETIMEDOUT, or an errno name. */
export class ResetFailed extends Error {
  constructor(readonly address: PciAddress, readonly method: string, readonly reason: string, readonly code?: string) {
    super(`${address}: ${method === 'auto' ? 'reset' : `${method} reset`} failed: ${reason}`);
    this.name = 'ResetFailed';
  }
}

const RESET_DEADLINE_MS = 70_000; // the kernel itself polls a slow device for up to 60 s

export async function resetGpu(ctx: HandoffContext, address: PciAddress, method: ResetMethod = 'auto'): Promise<ResetResult> {
  const started = Date.now();
  const gpu = findGpu(ctx, address);
  const lane = deviceLane(ctx, gpu);
  const resettable = gpu.functions.filter((f) => ctx.sysfs.exists(`bus/pci/devices/${f.address}/reset`));
  const resets: FunctionReset[] = [];

  const useHotReset = method === 'hot_reset' || (method === 'auto' && resettable.length === 0 && canHotReset(ctx, gpu));
  if (useHotReset) {
    resets.push(...(await hotReset(ctx, lane, gpu)));
  } else {
    if (resettable.length === 0) {
      throw new ResetFailed(gpu.address, method, gpu.parentBridge === null
        ? 'no reset method: the kernel offers none for this device (reset_method is empty) and it sits on the root bus, so no bus reset either'
        : 'no reset method for any function; claim the GPU for vfio-pci and use hot_reset to reset the whole slot');
    }
    for (const f of resettable) {
      try {
        resets.push(await resetFunction(ctx, lane, f.address, f.address === gpu.address ? method : 'auto'));
      } catch (err) {
        // A multi-function GPU has no per-function bus reset, although the kernel may list "bus"
        // for function 0 (probed before the other functions appeared): the slot's hot reset covers it.
        const busRefused = err instanceof ResetFailed && (err.code === 'ENOTTY' || (err.code === 'EINVAL' && err.method === 'bus'));
        if (!busRefused || gpu.functions.length < 2 || gpu.parentBridge === null) throw err;
        if (method === 'auto' && canHotReset(ctx, gpu)) return { gpu: gpu.address, resets: await hotReset(ctx, lane, gpu), ms: Date.now() - started };
        throw new ResetFailed(err.address, err.method, `${err.reason}; the GPU's ${gpu.functions.length} functions share its bus, so there is no per-function bus reset: claim it (baton gpu claim) and use --method hot_reset`, err.code);
      }
    }
  }
  return { gpu: gpu.address, resets, ms: Date.now() - started };
}

function canHotReset(ctx: HandoffContext, gpu: Gpu): boolean {
  return ctx.live && gpu.iommuGroup !== null && gpu.functions.every((f) => f.driver === 'vfio-pci');
}

async function resetFunction(ctx: HandoffContext, lane: KernelLane, address: PciAddress, method: Exclude<ResetMethod, 'hot_reset'>): Promise<FunctionReset> {
  const dir = `bus/pci/devices/${address}`;
  const previous = ctx.sysfs.text(`${dir}/reset_method`);
  const write = (file: string, value: string) => lane.write({ path: ctx.sysfs.path(`${dir}/${file}`), value, deadlineMs: RESET_DEADLINE_MS });
  if (method !== 'auto') {
    try {
      await write('reset_method', method);
    } catch (err) {
      if (err instanceof DeviceInUse) throw new ResetFailed(address, method, err.message, err.code);
      const code = err instanceof KernelWriteError ? err.code : '';
      const listed = previous?.split(/\s+/).includes(method) ?? false;
      const reason = code !== 'EINVAL' ? (err as Error).message
        : listed ? `the kernel lists ${method} for this device but refuses it now (EINVAL: its check no longer passes)`
          : `this device does not support ${method} (it offers: ${previous || 'none'})`;
      throw new ResetFailed(address, method, reason, code || undefined);
    }
  }
  const t0 = Date.now();
  try {
    await write('reset', '1');
  } catch (err) {
    if (err instanceof DeviceInUse) throw new ResetFailed(address, method, err.message, err.code);
    const code = err instanceof KernelWriteError ? err.code : '';
    const reason = code === 'ENOTTY' ? 'no working reset method (ENOTTY)' : (err as Error).message;
    throw new ResetFailed(address, method, reason, code || undefined);
  } finally {
    if (method !== 'auto' && previous !== undefined) await write('reset_method', previous || 'default').catch(() => undefined);
  }
  const ms = Date.now() - t0;
  return { address, method: method === 'auto' ? (previous?.split(/\s+/)[0] ?? 'auto') : method, ms, vendorAfter: verifyAnswers(ctx, address, method) };
}

async function hotReset(ctx: HandoffContext, lane: KernelLane, gpu: Gpu): Promise<FunctionReset[]> {
  if (!canHotReset(ctx, gpu)) {
    throw new ResetFailed(gpu.address, 'hot_reset', 'a VFIO hot reset needs every function of the GPU on vfio-pci (baton gpu claim first) on the live system');
  }
  const t0 = Date.now();
  try {
    // In the GPU's kernel-writer child: the ioctl sleeps while the bus settles and can hang on a broken device.
    await lane.call({ op: 'hot-reset', group: gpu.iommuGroup!, device: gpu.address, devDir: ctx.devVfio }, RESET_DEADLINE_MS, `VFIO hot reset of ${gpu.address} (IOMMU group ${gpu.iommuGroup})`);
  } catch (err) {
    const code = err instanceof KernelWriteError || err instanceof DeviceInUse ? err.code : '';
    const why: Record<string, string> = {
      EBUSY: 'the group is in use (a VM holds it) or another device on the bus is not owned',
      ENODEV: 'no slot or bus reset is possible for this device',
      EINVAL: 'the kernel refused the group list',
    };
    throw new ResetFailed(gpu.address, 'hot_reset', `${(err as Error).message}${why[code] ? `: ${why[code]}` : ''}`, code || undefined);
  }
  const ms = Date.now() - t0;
  return gpu.functions.map((f) => ({ address: f.address, method: 'hot_reset', ms, vendorAfter: verifyAnswers(ctx, f.address, 'hot_reset') }));
}

/** After a reset the device must answer config reads: a vendor id of ffff means it fell off the bus. */
function verifyAnswers(ctx: HandoffContext, address: PciAddress, method: string): string {
  const config = ctx.sysfs.bytes(`bus/pci/devices/${address}/config`);
  if (!config || config.length < 2) throw new ResetFailed(address, method, 'config space cannot be read after the reset');
  const vendor = config.readUInt16LE(0).toString(16).padStart(4, '0');
  if (vendor === 'ffff') throw new ResetFailed(address, method, 'the device does not answer after the reset (config space reads ffff)');
  const expected = ctx.sysfs.text(`bus/pci/devices/${address}/vendor`)?.replace(/^0x/, '');
  if (expected && expected !== vendor) throw new ResetFailed(address, method, `config space reads vendor ${vendor}, expected ${expected}`);
  return vendor;
}
