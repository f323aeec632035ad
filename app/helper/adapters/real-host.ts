// The host port on the real kernel: the same handoff, reset and VBIOS code the root CLI runs.
import type { HandoffPolicy } from '../../domain/handoff/policy.js';
import type { Inventory } from '../../domain/inventory/model.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { HostPort, ResetMethodName } from '../../domain/switch/ports.js';
import { checkRomForDevice } from '../../domain/vbios/device.js';
import { claimGpu, findGpu } from '../../host/handoff/claim.js';
import { deviceLane, type HandoffContext } from '../../host/handoff/context.js';
import { releaseGpu } from '../../host/handoff/release.js';
import type { LaneWedge } from '../../host/kernel/kernel-writer.js';
import { readInventory } from '../../host/inventory.js';
import { readRomFile } from '../../host/rom/files.js';
import { captureRomInLane, readDeviceIds } from '../../host/rom/capture.js';
import { storeCapture } from '../../host/rom/import.js';
import type { RomStore } from '../../host/rom/store.js';
import { resetGpu } from '../../host/reset/reset.js';

export class RealHost implements HostPort {
  readonly stubDriver: string = 'vfio-pci';

  constructor(
    private readonly ctx: HandoffContext,
    private readonly roms: RomStore,
  ) {}

  /** GPUs whose kernel writer has a call stuck in the kernel (their calls fail with EWEDGED). */
  kernelWedges(): LaneWedge[] {
    return this.ctx.writer.wedged();
  }

  /** Kills a wedged GPU's writer child; it works again once the child is gone (reconcile may try this). */
  abandonKernelWriter(gpu: PciAddress): void {
    this.ctx.writer.abandon(gpu);
  }

  async inventory(scope?: 'gpus' | readonly PciAddress[]): Promise<Inventory> {
    return readInventory({ sysfsRoot: this.ctx.sysfs.root, deviceLocks: this.ctx.deviceLocks, ...(scope ? { scope, pciIds: null } : {}) });
  }

  async drivers(functions: readonly PciAddress[]): Promise<Map<PciAddress, string | null>> {
    return new Map(functions.map((f) => [f, this.ctx.sysfs.linkName(`bus/pci/devices/${f}/driver`) ?? null]));
  }

  async claim(gpu: PciAddress, policy: HandoffPolicy): Promise<void> {
    await claimGpu(this.ctx, gpu, policy);
  }

  async release(gpu: PciAddress, policy: HandoffPolicy): Promise<void> {
    await releaseGpu(this.ctx, gpu, policy);
  }

  async reset(gpu: PciAddress, method: ResetMethodName): Promise<{ method: string; ms: number }> {
    const result = await resetGpu(this.ctx, gpu, method);
    return { method: result.resets.map((r) => r.method).join('+'), ms: result.ms };
  }

  /** A configured file is checked against the GPU before a VM is given it; a capture is stored once. */
  async romFile(gpu: PciAddress, source: { source: 'file'; file: string } | { source: 'capture' } | undefined): Promise<string | undefined> {
    if (!source) return undefined;
    const { ids } = readDeviceIds(gpu, this.ctx.sysfs.root);
    if (source.source === 'file') {
      const check = checkRomForDevice(readRomFile(source.file), ids);
      if (check.verdict !== 'valid') {
        const errors = check.findings.filter((f) => f.severity === 'error').map((f) => f.message);
        throw new Error(`the VBIOS ${source.file} does not fit ${gpu}: ${errors.join('; ')}`);
      }
      return source.file;
    }
    const stored = this.roms.find(ids.vendor, ids.device)[0];
    if (stored) return stored.romPath;
    // Off the main thread, in the GPU's own kernel lane, after the in-use check.
    const captured = await captureRomInLane(gpu, deviceLane(this.ctx, findGpu(this.ctx, gpu)), { sysfsRoot: this.ctx.sysfs.root });
    const check = checkRomForDevice(captured.bytes, ids);
    if (check.verdict !== 'valid') {
      throw new Error(`the ROM read from ${gpu} is not usable: ${check.findings.filter((f) => f.severity === 'error').map((f) => f.message).join('; ')}`);
    }
    return storeCapture(this.roms, captured).romPath;
  }
}
