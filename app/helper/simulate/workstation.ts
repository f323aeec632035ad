// The simulated workstation's state: PCI functions and their drivers, IOMMU groups, monitors, and
// VMs with the functions each holds. Changes here are instant and synchronous; the ports
// (host.ts, vm-backend.ts) add latency and faults. The world's rules live here: a function is held
// by at most one VM, a VM holds only functions on vfio-pci, a VM that stops lets go of everything.
import { classifyHost, isDisplayClass } from '../../domain/inventory/classify.js';
import type { DrmConnector, Inventory, PciFunction } from '../../domain/inventory/model.js';
import { comparePciAddress, functionOf, slotOf, type PciAddress } from '../../domain/pci-address.js';
import type { Owner } from '../../domain/switch/ports.js';
import type { Hypervisor } from '../../domain/vm/errors.js';
import type { GuestSlot, VmEvent, VmEventListener, VmState } from '../../domain/vm/port.js';
import { FaultBook } from './faults.js';
import type { ConnectorSpec, FunctionSpec, MachineSpec, VmSpec } from './machine.js';
import { SimClock, type Latencies } from './timing.js';

export const VFIO = 'vfio-pci';
const DRM_DRIVERS = new Set(['bochs-drm', 'amdgpu', 'nvidia', 'nouveau', 'i915', 'radeon']);

interface SimFunction {
  spec: FunctionSpec;
  driver: string | null;
  driverOverride: string | null;
  /** The host driver a release gives it back to. */
  hostDriver: string | null;
}

export interface HeldFunction {
  deviceId: string;
  guestSlot: GuestSlot;
}

export interface SimVm {
  spec: VmSpec;
  state: VmState;
  held: Map<PciAddress, HeldFunction>;
  /** Unplug requests the guest has not acknowledged yet (it was paused, or refuses). */
  pendingUnplug: Set<PciAddress>;
  /** Paused through the port (not configured paused): someone must resume it. */
  pausedByCall: boolean;
  pid: number | null;
  releasesDevices: boolean;
  powersOff: boolean;
}

/** Why a plug cannot happen; the backend words it as its hypervisor would. */
export type PlugProblem =
  | { code: 'not-running'; state: VmState }
  | { code: 'unknown-function'; address: PciAddress }
  | { code: 'not-on-vfio'; address: PciAddress; driver: string | null; group: number }
  | { code: 'held-elsewhere'; address: PciAddress; holder: string; group: number }
  | { code: 'already-held'; address: PciAddress }
  | { code: 'slot-occupied'; slot: GuestSlot; by: PciAddress };

export interface WorkstationSnapshot {
  speed: number;
  vfioLoaded: boolean;
  functions: { address: PciAddress; class: string; group: number; driver: string | null; hostDriver: string | null; heldBy: string | null }[];
  gpus: { address: PciAddress; functions: PciAddress[]; owner: Owner | 'mixed'; monitors: string[] }[];
  vms: { name: string; hypervisor: Hypervisor; state: VmState; held: PciAddress[]; pendingUnplug: PciAddress[]; pausedByCall: boolean }[];
  /** times is null for a fault that lasts until cleared (JSON has no Infinity). */
  faults: { operation: string; kind: string; vm?: string; gpu?: string; times: number | null; hits: number }[];
  hanging: number;
}

export class Workstation {
  readonly clock: SimClock;
  readonly faults = new FaultBook();
  vfioLoaded = false;
  private readonly fns = new Map<PciAddress, SimFunction>();
  private readonly vmsByName = new Map<string, SimVm>();
  private readonly connectorSpecs: ConnectorSpec[];
  private readonly listeners = new Set<VmEventListener>();
  private nextPid = 4242;

  constructor(spec: MachineSpec, readonly latencies: Latencies, speed: number) {
    this.clock = new SimClock(speed);
    for (const f of spec.functions) this.fns.set(f.address, { spec: f, driver: f.driver, driverOverride: null, hostDriver: f.driver });
    this.connectorSpecs = spec.connectors;
    for (const vm of spec.vms) {
      this.vmsByName.set(vm.name, {
        spec: vm, state: vm.state, held: new Map(), pendingUnplug: new Set(), pausedByCall: false,
        pid: vm.state === 'shut-off' ? null : this.nextPid++,
        releasesDevices: vm.releasesDevices ?? true, powersOff: vm.powersOff ?? true,
      });
    }
  }

  // --- reading ---

  functionAddresses(): PciAddress[] {
    return [...this.fns.keys()].sort(comparePciAddress);
  }

  hasFunction(address: PciAddress): boolean {
    return this.fns.has(address);
  }

  spec(address: PciAddress): FunctionSpec {
    return this.fn(address).spec;
  }

  driverOf(address: PciAddress): string | null {
    return this.fns.get(address)?.driver ?? null;
  }

  hostDriverOf(address: PciAddress): string | null {
    return this.fn(address).hostDriver;
  }

  /** The display function and its companions in the slot, display first; null when address is no GPU's. */
  gpuFunctions(address: PciAddress): PciAddress[] | null {
    if (!this.fns.has(address)) return null;
    const slot = [...this.fns.values()].filter((f) => slotOf(f.spec.address) === slotOf(address)).sort((x, y) => functionOf(x.spec.address) - functionOf(y.spec.address));
    const display = slot.find((f) => isDisplayClass(f.spec.class));
    if (!display) return null;
    return [display.spec.address, ...slot.filter((f) => f !== display).map((f) => f.spec.address)];
  }

  groupMembers(group: number): PciAddress[] {
    return [...this.fns.values()].filter((f) => f.spec.iommuGroup === group).map((f) => f.spec.address).sort(comparePciAddress);
  }

  vmNames(): string[] {
    return [...this.vmsByName.keys()];
  }

  hasVm(name: string): boolean {
    return this.vmsByName.has(name);
  }

  vm(name: string): SimVm {
    const vm = this.vmsByName.get(name);
    if (!vm) throw new RangeError(`no simulated VM named ${name}`);
    return vm;
  }

  /** The VM holding this function, if any (the first, should two hold it: see assertConsistent). */
  holderOf(address: PciAddress): string | null {
    for (const vm of this.vmsByName.values()) if (vm.held.has(address)) return vm.spec.name;
    return null;
  }

  /** VMs that have any member of the group open, i.e. /dev/vfio/<group> held by their process. */
  groupHolders(group: number): SimVm[] {
    const members = new Set(this.groupMembers(group));
    return [...this.vmsByName.values()].filter((vm) => [...vm.held.keys()].some((a) => members.has(a)));
  }

  ownerOf(gpuFunctions: readonly PciAddress[]): Owner | 'mixed' {
    const holders = new Set(gpuFunctions.map((a) => this.holderOf(a)));
    if (holders.size === 1) {
      const [holder] = holders;
      if (holder) return holder;
      if (gpuFunctions.every((a) => this.driverOf(a) === VFIO)) return 'park';
      if (gpuFunctions.every((a) => this.driverOf(a) !== VFIO)) return 'host';
    }
    return 'mixed';
  }

  inventory(): Inventory {
    const functions: PciFunction[] = [...this.fns.values()].sort((x, y) => comparePciAddress(x.spec.address, y.spec.address)).map((f) => ({
      address: f.spec.address,
      class: f.spec.class,
      vendor: f.spec.vendor,
      device: f.spec.device,
      subsystemVendor: f.spec.subsystem.slice(0, 4),
      subsystemDevice: f.spec.subsystem.slice(5),
      revision: f.spec.revision,
      vendorName: f.spec.vendorName,
      deviceName: f.spec.deviceName,
      driver: f.driver,
      driverOverride: f.driverOverride,
      iommuGroup: f.spec.iommuGroup,
      resetMethods: [...f.spec.resetMethods],
      bootVga: f.spec.bootVga ?? false,
      romPresent: f.spec.romPresent ?? false,
      isBridge: f.spec.isBridge ?? false,
      parentBridge: f.spec.parentBridge ?? null,
      mdevTypes: [],
      problems: [],
    }));
    const groups = new Map<number, PciAddress[]>();
    for (const f of functions) groups.set(f.iommuGroup!, [...(groups.get(f.iommuGroup!) ?? []), f.address]);
    return classifyHost({
      functions,
      groups,
      connectors: this.connectors(),
      vfio: { vfioPciLoaded: this.vfioLoaded, devVfio: this.vfioLoaded, iommuEnabled: true, vfioPciLoadable: true, xenDom0: false },
      problems: [],
    });
  }

  /** DRM connectors exist while their display function is bound to a DRM driver. */
  connectors(): DrmConnector[] {
    return this.connectorSpecs.filter((c) => DRM_DRIVERS.has(this.driverOf(c.gpu) ?? '')).map((c) => ({
      connector: c.connector,
      card: c.connector.slice(0, c.connector.indexOf('-')),
      pciAddress: c.gpu,
      status: 'connected',
      enabled: c.enabled,
      modes: [`${c.mode.width}x${c.mode.height}`],
      edid: {
        manufacturerId: 'RHT', productCode: 4660, serialNumber: 0, monitorName: 'QEMU Monitor', serialText: null,
        manufactureYear: 2014, version: '1.4', preferredMode: c.mode, checksumValid: true, extensionCount: 1,
      },
      problems: [],
    }));
  }

  // --- changing (instant; the ports add time and faults) ---

  bindVfio(address: PciAddress): void {
    const f = this.fn(address);
    if (f.driver !== VFIO) f.hostDriver = f.driver;
    f.driver = VFIO;
    f.driverOverride = VFIO;
  }

  /** Back to the driver it came from (or `driver`); null leaves it without one. */
  bindHost(address: PciAddress, driver: string | null = this.fn(address).hostDriver): void {
    const f = this.fn(address);
    f.driver = driver;
    f.driverOverride = null;
  }

  plugProblem(vmName: string, functions: readonly PciAddress[], slot: GuestSlot): PlugProblem | null {
    const vm = this.vm(vmName);
    if (vm.state !== 'running' && vm.state !== 'paused' && vm.state !== 'starting') return { code: 'not-running', state: vm.state };
    for (const address of functions) {
      const f = this.fns.get(address);
      if (!f) return { code: 'unknown-function', address };
      if (vm.held.has(address)) return { code: 'already-held', address };
      const holder = this.holderOf(address) ?? this.groupHolders(f.spec.iommuGroup).find((v) => v !== vm)?.spec.name;
      if (holder) return { code: 'held-elsewhere', address, holder, group: f.spec.iommuGroup };
      if (f.driver !== VFIO) return { code: 'not-on-vfio', address, driver: f.driver, group: f.spec.iommuGroup };
    }
    for (const [address, held] of vm.held) {
      if (held.guestSlot.bus === slot.bus && held.guestSlot.slot === slot.slot) return { code: 'slot-occupied', slot, by: address };
    }
    return null;
  }

  /** Records the functions as the VM's, without checks (plugProblem first). */
  plug(vmName: string, functions: readonly { address: PciAddress; deviceId: string }[], slot: GuestSlot): void {
    const vm = this.vm(vmName);
    for (const f of functions) vm.held.set(f.address, { deviceId: f.deviceId, guestSlot: slot });
  }

  /** The guest let go: the functions leave the VM, one device-deleted event each. */
  unplug(vmName: string, functions: readonly PciAddress[]): void {
    const vm = this.vm(vmName);
    for (const address of functions) {
      const held = vm.held.get(address);
      vm.pendingUnplug.delete(address);
      if (!held) continue;
      vm.held.delete(address);
      this.emit({ kind: 'device-deleted', vm: vmName, deviceId: held.deviceId, path: `/machine/peripheral/${held.deviceId}` });
    }
  }

  setState(vmName: string, state: VmState, raw: string): void {
    const vm = this.vm(vmName);
    if (vm.state === state) return;
    vm.state = state;
    if (state === 'shut-off') {
      // The hypervisor process is gone: every device it had open is free again.
      vm.held.clear();
      vm.pendingUnplug.clear();
      vm.pid = null;
    } else if (vm.pid === null) {
      vm.pid = this.nextPid++;
    }
    if (state !== 'paused') vm.pausedByCall = false;
    this.emit({ kind: 'state-changed', vm: vmName, state, raw });
    if (state === 'shut-off' && vm.spec.hypervisor === 'qmp') this.emit({ kind: 'disconnected', vm: vmName });
  }

  /** Puts a GPU straight where a demo wants it to start (no latency, no faults). */
  place(gpu: PciAddress, owner: Owner, deviceId: (address: PciAddress) => string): void {
    const functions = this.gpuFunctions(gpu);
    if (!functions) throw new RangeError(`${gpu} is not a GPU of the simulated workstation`);
    if (owner === 'host') return functions.forEach((a) => this.bindHost(a));
    this.vfioLoaded = true;
    functions.forEach((a) => this.bindVfio(a));
    if (owner === 'park') return;
    const vm = this.vm(owner);
    const problem = this.plugProblem(owner, functions, vm.spec.guestSlot);
    if (problem) throw new RangeError(`cannot place ${gpu} in ${owner}: ${problem.code}`);
    this.plug(owner, functions.map((address) => ({ address, deviceId: deviceId(address) })), vm.spec.guestSlot);
  }

  // --- events ---

  on(listener: VmEventListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  emit(event: VmEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A subscriber's fault must not break the simulation.
      }
    }
  }

  // --- planting broken states (tests, demos of recovery): no rules apply ---

  forceDriver(address: PciAddress, driver: string | null): void {
    const f = this.fn(address);
    f.driver = driver;
    f.driverOverride = driver === VFIO ? VFIO : null;
  }

  forceHold(vmName: string, address: PciAddress, deviceId = `planted-${address}`): void {
    this.vm(vmName).held.set(address, { deviceId, guestSlot: { bus: 'planted', slot: 31 } });
  }

  // --- checking ---

  snapshot(): WorkstationSnapshot {
    const gpus = this.displayFunctions().map((address) => {
      const functions = this.gpuFunctions(address) ?? [address];
      return {
        address, functions, owner: this.ownerOf(functions),
        monitors: this.connectors().filter((c) => c.pciAddress === address).map((c) => c.connector),
      };
    });
    return {
      speed: this.clock.speed,
      vfioLoaded: this.vfioLoaded,
      functions: this.functionAddresses().map((address) => {
        const f = this.fn(address);
        return { address, class: f.spec.class, group: f.spec.iommuGroup, driver: f.driver, hostDriver: f.hostDriver, heldBy: this.holderOf(address) };
      }),
      gpus,
      vms: [...this.vmsByName.values()].map((vm) => ({
        name: vm.spec.name, hypervisor: vm.spec.hypervisor, state: vm.state,
        held: [...vm.held.keys()].sort(comparePciAddress), pendingUnplug: [...vm.pendingUnplug].sort(comparePciAddress), pausedByCall: vm.pausedByCall,
      })),
      faults: this.faults.list().map((f) => ({
        operation: f.operation, kind: f.kind, times: Number.isFinite(f.times) ? f.times : null, hits: f.hits,
        ...(f.vm === undefined ? {} : { vm: f.vm }), ...(f.gpu === undefined ? {} : { gpu: f.gpu }),
      })),
      hanging: this.faults.hanging,
    };
  }

  /** Every broken rule, as sentences; empty when the world is consistent. */
  assertConsistent(): string[] {
    const problems: string[] = [];
    for (const address of this.functionAddresses()) {
      const holders = [...this.vmsByName.values()].filter((vm) => vm.held.has(address)).map((vm) => vm.spec.name);
      if (holders.length > 1) problems.push(`${address} is held by more than one VM: ${holders.join(', ')}`);
    }
    for (const vm of this.vmsByName.values()) {
      const name = vm.spec.name;
      for (const address of vm.held.keys()) {
        const driver = this.driverOf(address);
        if (driver !== VFIO) problems.push(`${name} holds ${address}, which is bound to ${driver ?? 'no driver'}, not vfio-pci`);
      }
      if (vm.held.size > 0 && (vm.state === 'shut-off' || vm.state === 'unknown')) problems.push(`${name} is ${vm.state} but holds ${[...vm.held.keys()].join(', ')}`);
      if (vm.state === 'paused' && vm.pausedByCall) problems.push(`${name} was paused and nobody resumed it`);
    }
    for (const gpu of this.displayFunctions()) {
      const functions = this.gpuFunctions(gpu) ?? [];
      if (this.ownerOf(functions) !== 'mixed') continue;
      const where = functions.map((a) => `${a} ${this.holderOf(a) ? `in ${this.holderOf(a)}` : `on ${this.driverOf(a) ?? 'no driver'}`}`);
      problems.push(`GPU ${gpu} is split: ${where.join(', ')}`);
    }
    return problems;
  }

  private displayFunctions(): PciAddress[] {
    return this.functionAddresses().filter((a) => isDisplayClass(this.fn(a).spec.class));
  }

  private fn(address: PciAddress): SimFunction {
    const f = this.fns.get(address);
    if (!f) throw new RangeError(`no PCI function ${address} in the simulated workstation`);
    return f;
  }
}
