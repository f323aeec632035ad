// HostPort over the simulated workstation: the same refusals and failures as the real adapter
// (app/host/handoff, app/host/reset, app/host/rom), with the lab's step latencies.
import { planClaim, type HandoffPolicy } from '../../domain/handoff/policy.js';
import type { Gpu, Inventory } from '../../domain/inventory/model.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { HostPort, ResetMethodName } from '../../domain/switch/ports.js';
import { HandoffFailed, HandoffRefused } from '../../host/handoff/errors.js';
import { KernelWriteError, KernelWriteTimeout } from '../../host/kernel/kernel-writer.js';
import { ResetFailed } from '../../host/reset/reset.js';
import { RomError } from '../../host/rom/errors.js';
import type { Fault, HostOperation } from './faults.js';
import { ADAPTER_DEADLINES } from './timing.js';
import { VFIO, type Workstation } from './workstation.js';

const sysfs = (address: PciAddress, file: string) => `/sys/bus/pci/devices/${address}/${file}`;

export interface SimulatedHostOptions {
  /** Where captured ROMs go (the helper's vbiosStore). */
  vbiosStore?: string;
}

/** What the real adapter throws when the GPU's kernel writer is stuck in the kernel (the EWEDGED contract). */
export class SimulatedWedgedWrite extends Error {
  readonly code = 'EWEDGED';
  constructor(readonly gpu: PciAddress, readonly path: string) {
    super(`the kernel writer for ${gpu} is stuck in the kernel (a write to ${path} never returned)`);
    this.name = 'KernelWriterWedged';
  }
}

export class SimulatedHost implements HostPort {
  readonly stubDriver = 'vfio-pci';
  /** GPUs (by display function) whose kernel writer is stuck: every write fails EWEDGED until unwedge(). */
  private readonly wedged = new Set<PciAddress>();

  /** The stuck writer is gone (its write never landed); one GPU, or all. */
  unwedge(gpu?: PciAddress): void {
    if (gpu === undefined) this.wedged.clear();
    else this.wedged.delete(this.findGpu(gpu).address);
  }

  isWedged(gpu: PciAddress): boolean {
    return this.wedged.has(this.findGpu(gpu).address);
  }
  constructor(private readonly ws: Workstation, private readonly options: SimulatedHostOptions = {}) {}

  async inventory(): Promise<Inventory> {
    await this.ws.clock.step(this.ws.latencies.queryMs);
    return this.ws.inventory();
  }

  async drivers(functions: readonly PciAddress[]): Promise<Map<PciAddress, string | null>> {
    return new Map(functions.map((a) => [a, this.ws.driverOf(a)]));
  }

  async claim(address: PciAddress, policy: HandoffPolicy): Promise<void> {
    const gpu = this.findGpu(address);
    const fault = await this.enter('claim', gpu);
    const inventory = this.ws.inventory();
    const plan = planClaim(gpu, inventory.vfio.vfioPciLoaded, inventory.vfio.vfioPciLoadable, policy, inventory.functions);
    if (plan.refusals.length) throw new HandoffRefused(gpu.address, plan.refusals);
    const moved: { address: PciAddress; from: string | null }[] = [];
    let step = 'prepare';
    try {
      if (plan.loadVfio) {
        step = 'load vfio-pci';
        await this.ws.clock.step(this.ws.latencies.loadVfioMs);
        this.ws.vfioLoaded = true;
      }
      const toMove = plan.functions.filter((a) => this.ws.driverOf(a) !== VFIO);
      for (const [i, fn] of toMove.entries()) {
        const from = this.ws.driverOf(fn);
        step = `move ${fn} from ${from ?? 'no driver'} to vfio-pci`;
        // An injected fault strikes the last function, so the earlier ones must be undone.
        if (fault && i === toMove.length - 1) await this.strike(fault, sysfs(fn, 'driver/unbind'), fn);
        await this.ws.clock.step(this.ws.latencies.claimFunctionMs);
        this.ws.bindVfio(fn);
        moved.push({ address: fn, from });
      }
      if (fault && toMove.length === 0) await this.strike(fault, sysfs(gpu.address, 'driver_override'), gpu.address);
    } catch (error) {
      if (error instanceof SimulatedWedgedWrite) throw error; // stuck: nothing more can be written
      const undone: string[] = [];
      for (const m of moved.reverse()) {
        this.ws.bindHost(m.address, m.from);
        undone.push(`give ${m.address} back to ${m.from ?? 'no driver'}`);
      }
      throw new HandoffFailed(gpu.address, step, error as Error, undone);
    }
  }

  async release(address: PciAddress, policy: HandoffPolicy): Promise<void> {
    const gpu = this.findGpu(address);
    const fault = await this.enter('release', gpu);
    // The movable peers still on the bus: group peers and devices outside the group alike.
    const own = new Set(gpu.functions.map((f) => f.address));
    const onBus = new Set(this.ws.inventory().functions.map((f) => f.address));
    const peers = policy.movablePeers.filter((a) => !own.has(a) && onBus.has(a));
    const functions = [...gpu.functions.map((f) => f.address), ...peers].sort();
    const onVfio = functions.filter((a) => this.ws.driverOf(a) === VFIO);
    if (onVfio.length && gpu.iommuGroup !== null) {
      const holders = this.ws.groupHolders(gpu.iommuGroup);
      if (holders.length) {
        const who = holders.map((vm) => `${vm.spec.hypervisor === 'xen' ? 'qemu-system-i38' : 'qemu-system-x86'} (pid ${vm.pid ?? '?'}, VM ${vm.spec.name})`).join(', ');
        throw new HandoffRefused(gpu.address, [`IOMMU group ${gpu.iommuGroup} is in use by ${who}; the VM must let go of the GPU first (detach it or shut the VM down)`]);
      }
    }
    let step = 'leave vfio-pci';
    try {
      // Function 0 first: the kernel links the other functions to it for power management.
      for (const [i, fn] of onVfio.entries()) {
        const to = this.ws.hostDriverOf(fn);
        step = `give ${fn} back to ${to ?? 'the driver the kernel matches'}`;
        // Struck after function 0 went back: the GPU is left half on the host, as the real one would be.
        if (fault && i === Math.min(1, onVfio.length - 1)) await this.strike(fault, sysfs(fn, 'driver/unbind'), fn);
        await this.ws.clock.step(this.ws.latencies.releaseFunctionMs);
        this.ws.bindHost(fn);
      }
      if (fault && onVfio.length === 0) await this.strike(fault, sysfs(gpu.address, 'driver_override'), gpu.address);
    } catch (error) {
      if (error instanceof SimulatedWedgedWrite) throw error;
      throw new HandoffFailed(gpu.address, step, error as Error);
    }
  }

  async reset(address: PciAddress, method: ResetMethodName): Promise<{ method: string; ms: number }> {
    const gpu = this.findGpu(address);
    const fault = await this.enter('reset', gpu);
    const onVfio = gpu.functions.every((f) => this.ws.driverOf(f.address) === VFIO);
    let used: Exclude<ResetMethodName, 'auto'>;
    if (method === 'hot_reset' || (method === 'auto' && gpu.resetMethods.length === 0 && onVfio && gpu.parentBridge !== null)) {
      if (!onVfio) throw new ResetFailed(gpu.address, 'hot_reset', 'a VFIO hot reset needs every function of the GPU on vfio-pci (baton gpu claim first) on the live system');
      used = 'hot_reset';
    } else if (method === 'auto') {
      const first = gpu.resetMethods[0] as Exclude<ResetMethodName, 'auto'> | undefined;
      if (!first) {
        throw new ResetFailed(gpu.address, method, gpu.parentBridge === null
          ? 'no reset method: the kernel offers none for this device (reset_method is empty) and it sits on the root bus, so no bus reset either'
          : 'no reset method for any function; claim the GPU for vfio-pci and use hot_reset to reset the whole slot');
      }
      used = first;
    } else {
      if (!gpu.resetMethods.includes(method)) throw new ResetFailed(gpu.address, method, `this device does not support ${method} (it offers: ${gpu.resetMethods.join(' ') || 'none'})`);
      used = method;
    }
    const holders = gpu.iommuGroup === null ? [] : this.ws.groupHolders(gpu.iommuGroup);
    if (holders.length) {
      throw new ResetFailed(gpu.address, used, `EBUSY: the group is in use (a VM holds it): ${holders.map((vm) => vm.spec.name).join(', ')}`);
    }
    if (fault?.kind === 'wedged') throw this.wedge(gpu.address, sysfs(gpu.address, 'reset'));
    if (fault?.kind === 'error') throw new ResetFailed(gpu.address, used, 'the device does not answer after the reset (config space reads ffff)');
    if (fault?.kind === 'timeout') {
      await this.ws.clock.step(ADAPTER_DEADLINES.resetMs);
      throw new ResetFailed(gpu.address, used, new KernelWriteTimeout(sysfs(gpu.address, 'reset'), '1', ADAPTER_DEADLINES.resetMs).message);
    }
    const ms = this.ws.clock.scaled(this.ws.latencies.resetMs[used]);
    await this.ws.clock.wait(ms);
    return { method: used, ms };
  }

  async romFile(address: PciAddress, source: { source: 'file'; file: string } | { source: 'capture' } | undefined): Promise<string | undefined> {
    const gpu = this.findGpu(address);
    const fault = await this.enter('romFile', gpu);
    if (fault?.kind === 'wedged') throw this.wedge(gpu.address, sysfs(gpu.address, 'rom'));
    if (fault?.kind === 'error') throw new RomError(`${gpu.address}: reading the ROM failed: Input/output error (EIO)`, ['the card may not expose its ROM while a driver holds it; try with the GPU on vfio-pci'], 'EIO');
    if (fault?.kind === 'timeout') {
      await this.ws.clock.step(ADAPTER_DEADLINES.kernelWriteMs);
      throw new RomError(`${gpu.address}: reading the ROM took longer than ${ADAPTER_DEADLINES.kernelWriteMs} ms`, [], 'ETIMEDOUT');
    }
    if (source === undefined) return undefined;
    if (source.source === 'file') return source.file;
    if (!gpu.romPresent) throw new RomError(`${gpu.address} has no ROM to capture (no rom file in sysfs)`, ['give a ROM file with vbios.file instead']);
    await this.ws.clock.step(this.ws.latencies.romCaptureMs);
    const store = this.options.vbiosStore ?? '/var/lib/baton/vbios';
    return `${store}/${gpu.vendor}-${gpu.device}-${(gpu.subsystem ?? '0000:0000').replace(':', '-')}.rom`;
  }

  private findGpu(address: PciAddress): Gpu {
    const inventory = this.ws.inventory();
    const gpu = inventory.gpus.find((g) => g.functions.some((f) => f.address === address));
    if (gpu) return gpu;
    const fn = inventory.functions.find((f) => f.address === address);
    throw new HandoffRefused(address, [fn ? `${address} is not a GPU or a function of one (class ${fn.class ?? 'unknown'})` : `no PCI device ${address} in the simulated workstation`]);
  }

  private wedge(gpu: PciAddress, path: string): SimulatedWedgedWrite {
    this.wedged.add(gpu);
    return new SimulatedWedgedWrite(gpu, path);
  }

  /** Takes the fault for this call; a hang waits here until released (and fails if told to). */
  private async enter(operation: HostOperation, gpu: Gpu): Promise<Fault | undefined> {
    if (this.wedged.has(gpu.address)) throw new SimulatedWedgedWrite(gpu.address, sysfs(gpu.address, operation === 'reset' ? 'reset' : 'driver_override'));
    const fault = this.ws.faults.take(operation, { gpuFunctions: gpu.functions.map((f) => f.address) });
    if (fault?.kind !== 'hang') return fault;
    const outcome = await this.ws.faults.hang(`${operation} ${gpu.address}`);
    if (outcome === 'proceed') return undefined;
    const error = new KernelWriteError(sysfs(gpu.address, 'driver/unbind'), gpu.address, 'EIO', 'the simulated hang was released as a failure');
    if (operation === 'claim' || operation === 'release') throw new HandoffFailed(gpu.address, operation, error);
    if (operation === 'reset') throw new ResetFailed(gpu.address, 'auto', error.message);
    throw new RomError(`${gpu.address}: ${error.message}`, [], 'EIO');
  }

  /** An error, timeout or wedged fault at a kernel write, as the kernel writer reports it. */
  private async strike(fault: Fault, path: string, value: string): Promise<never> {
    if (fault.kind === 'wedged') throw this.wedge(this.findGpu(value as PciAddress).address, path);
    if (fault.kind === 'timeout') {
      await this.ws.clock.step(ADAPTER_DEADLINES.kernelWriteMs);
      throw new KernelWriteTimeout(path, value, ADAPTER_DEADLINES.kernelWriteMs);
    }
    throw new KernelWriteError(path, value, 'EBUSY', 'Device or resource busy');
  }
}
