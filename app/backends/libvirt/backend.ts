// The VM backend port over libvirt, through virsh: each configured VM names its own connection URI,
// so one Baton reaches domains on several hosts (qemu:///system, qemu+ssh://host/system, …).
import type { PciAddress } from '../../domain/pci-address.js';
import { functionOf } from '../../domain/pci-address.js';
import {
  VmAlreadyRunningError,
  VmCommandFailedError,
  VmDeviceBusyError,
  VmInvalidRequestError,
  VmNotFoundError,
  VmNotRunningError,
  VmProtocolError,
  VmStartFailedError,
  VmTimeoutError,
  isVmBackendError,
  type VmBackendError,
} from '../../domain/vm/errors.js';
import type {
  AttachGpuRequest, AttachGpuResult, DetachGpuOptions, DetachGpuResult, GuestSlot, ShutdownOptions, ShutdownResult,
  StartOptions, StartResult, Unsubscribe, VmBackend, VmEvent, VmEventListener, VmName, VmStatus, VmSummary,
} from '../../domain/vm/port.js';
import { shutdownAbandonedMessage, shutdownWait } from '../../domain/vm/port.js';
import { domainFacts, plugDevices, unplugAndConfirm, virsh, withXmlFile, type DomainHandle } from './device-plug.js';
import { freeRootPorts, type DomainFacts } from './domain-xml.js';
import { DomstateFormatError, parseDomstate } from './domstate.js';
import type { DomainEvent } from './event-lines.js';
import { VirshEventStream } from './event-stream.js';
import { monitorInputs } from '../qmp/vm-inputs.js';
import { monitorReply } from './monitor-command.js';
import { gpuFunctions, guestBusNumber, hostdevXml, placeGpu, type GpuLayout, type PlacedHostdev } from './gpu-devices.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface LibvirtVmConfig {
  name: VmName;
  /** libvirt connection URI, e.g. "qemu:///system" or "qemu+ssh://root@host/system". */
  uri: string;
  /** libvirt's domain name (events are matched by this name). */
  domain: string;
  /** Where function 0 goes when a request names no slot, e.g. { bus: 'pci.3', slot: 0 }. */
  gpuSlot?: GuestSlot;
  /** Default slot-per-function: the only layout libvirt can hot-plug and hot-unplug (see gpu-devices.ts). */
  gpuLayout?: GpuLayout;
}

export interface LibvirtBackendOptions {
  vms: readonly LibvirtVmConfig[];
  /** Deadline of each virsh command (default 30 s). */
  commandTimeoutMs?: number;
  virshPath?: string;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
const STATE_POLL_MS = 200;

export class LibvirtBackend implements VmBackend {
  readonly hypervisor = 'libvirt' as const;
  private readonly listeners = new Set<VmEventListener>();
  private readonly streams = new Map<string, VirshEventStream>();
  /**
   * libvirt refuses to hot-plug <input type='evdev'> (docs/input.md): the input-linux object goes
   * through the domain's monitor. libvirt marks the domain tainted (custom-monitor); Baton records
   * and removes the object itself.
   */
  readonly inputs = monitorInputs('libvirt', async (vm, command) => {
    const handle = this.handle(vm);
    return monitorReply(vm, command.execute, await virsh(handle, ['qemu-monitor-command', '--domain', handle.domain, JSON.stringify(command)]));
  });

  constructor(private readonly options: LibvirtBackendOptions) {}

  async listVms(): Promise<VmSummary[]> {
    return Promise.all(this.options.vms.map(async (vm) => {
      const status = await this.state(vm.name).catch((error: unknown) =>
        ({ state: 'unknown' as const, raw: isVmBackendError(error) ? error.kind : 'error' }));
      return { name: vm.name, hypervisor: this.hypervisor, ...status };
    }));
  }

  async state(vm: VmName): Promise<VmStatus> {
    const handle = this.handle(vm);
    const output = await virsh(handle, ['domstate', '--reason', '--domain', handle.domain]);
    try {
      return parseDomstate(output);
    } catch (error) {
      if (!(error instanceof DomstateFormatError)) throw error;
      throw new VmProtocolError(`${vm}: ${error.message}`, { ...this.context(vm), hypervisorMessage: output, cause: error });
    }
  }

  async pause(vm: VmName): Promise<void> {
    const handle = this.handle(vm);
    await virsh(handle, ['suspend', '--domain', handle.domain]);
  }

  async resume(vm: VmName): Promise<void> {
    const handle = this.handle(vm);
    // A guest that suspended itself to RAM is woken, not resumed (resume refuses it).
    const { raw } = await this.state(vm);
    await virsh(handle, [raw.startsWith('pmsuspended') ? 'dompmwakeup' : 'resume', '--domain', handle.domain]);
  }

  async passthroughDevices(vm: VmName): Promise<PciAddress[]> {
    const facts = await domainFacts(this.handle(vm));
    // A stopped domain holds nothing, whatever its definition will take at the next start.
    return facts.active ? facts.hostdevs.map((h) => h.host) : [];
  }

  async attachGpu(vm: VmName, request: AttachGpuRequest): Promise<AttachGpuResult> {
    const functions = gpuFunctions(vm, request);
    const handle = this.handle(vm);
    const layout = this.config(vm).gpuLayout ?? 'slot-per-function';
    if (layout === 'multifunction' && functions.length > 1) {
      throw new VmInvalidRequestError(`${vm}: libvirt cannot hot-plug a multi-function slot (only function 0 hot-plugs); `
        + `use gpuLayout slot-per-function, or start the VM with the GPU`, this.context(vm));
    }
    const facts = await domainFacts(handle);
    if (!facts.active) throw new VmNotRunningError(`${vm} is not running: cannot hot-plug ${functions.join(', ')}`, this.context(vm));
    const held = facts.hostdevs.filter((h) => functions.includes(h.host)).map((h) => h.host);
    if (held.length > 0) {
      throw new VmDeviceBusyError(`${vm} already holds ${held.join(', ')}`, { ...this.context(vm), device: held.join(', ') });
    }
    const { slot, buses } = this.chooseBuses(vm, facts, request.guestSlot, layout === 'multifunction' ? 1 : functions.length, request.freeSlot);
    const placed = placeGpu(functions, slot, buses, layout, request.romFile);
    await plugDevices(handle, placed.map((p) => ({ alias: p.alias, xml: hostdevXml(p), label: p.host })));
    // libvirt's domain model is all we can see: the guest's own PCI tree is not visible through libvirt.
    return { deviceIds: placed.map((p) => p.alias), guestSlot: slot, verifiedBy: 'object-model' };
  }

  async detachGpu(vm: VmName, functions: readonly PciAddress[], options: DetachGpuOptions): Promise<DetachGpuResult> {
    const handle = this.handle(vm);
    const facts = await domainFacts(handle);
    if (!facts.active) return { removed: [], alreadyAbsent: [...functions] };
    const held = facts.hostdevs.filter((h) => functions.includes(h.host));
    // Non-zero functions first, function 0 last: the reverse of how a slot is filled.
    held.sort((a, b) => (functionOf(a.host) === 0 ? 1 : 0) - (functionOf(b.host) === 0 ? 1 : 0));
    const unaliased = held.find((h) => h.alias === null);
    if (unaliased) throw new VmProtocolError(`${vm}: the live XML gives ${unaliased.host} no alias`, { ...this.context(vm), device: unaliased.host });
    await unplugAndConfirm(handle, held.map((h) => ({ alias: h.alias ?? '', label: h.host })), options.deadlineMs);
    return { removed: held.map((h) => h.host), alreadyAbsent: functions.filter((f) => !held.some((h) => h.host === f)) };
  }

  async shutdown(vm: VmName, options: ShutdownOptions): Promise<ShutdownResult> {
    const handle = this.handle(vm);
    const { waitMs, force } = shutdownWait(options);
    const initial = await this.state(vm);
    if (initial.state === 'shut-off') return { outcome: 'already-off' };
    if (initial.state !== 'crashed') {
      const asked = await virsh(handle, ['shutdown', '--domain', handle.domain]).then(() => true, (error: unknown) => {
        if (error instanceof VmNotRunningError) return false;
        throw error;
      });
      if (!asked) return { outcome: 'already-off' };
      if (await this.waitForState(vm, 'shut-off', waitMs)) return { outcome: 'graceful' };
      if (!force) throw new VmTimeoutError(shutdownAbandonedMessage(vm, waitMs), this.context(vm), 'shutdown', waitMs);
    } else if (!force) {
      throw new VmInvalidRequestError(`${vm} has crashed and cannot shut down by itself; it keeps its devices until it is destroyed (virsh destroy), or set release.forceAfterSeconds to let Baton do that`, this.context(vm));
    }
    const destroyed = await virsh(handle, ['destroy', '--domain', handle.domain]).then(() => true, (error: unknown) => {
      // It powered off between the last look and destroy.
      if (error instanceof VmNotRunningError) return false;
      throw error;
    });
    return { outcome: destroyed ? 'forced' : 'graceful' };
  }

  async start(vm: VmName, options: StartOptions): Promise<StartResult> {
    const handle = { ...this.handle(vm), ...(options.deadlineMs === undefined ? {} : { commandTimeoutMs: options.deadlineMs }) };
    const current = await this.state(vm);
    if (current.state !== 'shut-off') throw new VmAlreadyRunningError(`${vm} is not shut off (${current.raw})`, this.context(vm));
    try {
      if (!options.withGpu) {
        await virsh(handle, ['start', '--domain', handle.domain]);
      } else {
        // Cold plug for this boot only: the definition plus the GPU, started with create; the persistent
        // definition stays as it was (libvirt starts a defined, inactive domain from the given XML).
        const xml = await this.definitionWithGpu(vm, handle, options.withGpu);
        await withXmlFile(xml, (file) => virsh(handle, ['create', '--file', file]));
      }
    } catch (error) {
      throw this.asStartFailure(vm, error);
    }
    // libvirt owns the QEMU process; its pid is not Baton's to manage.
    return { pid: null };
  }

  events(listener: VmEventListener): Unsubscribe {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.startStreams();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stopStreams();
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.stopStreams();
  }

  private async definitionWithGpu(vm: VmName, handle: DomainHandle, request: AttachGpuRequest): Promise<string> {
    const functions = gpuFunctions(vm, request);
    const layout = this.config(vm).gpuLayout ?? 'slot-per-function';
    // --security-info keeps secrets (e.g. graphics passwords) that a plain dump leaves out.
    const xml = await virsh(handle, ['dumpxml', '--inactive', '--security-info', '--domain', handle.domain]);
    const facts = await domainFacts(handle, { inactive: true });
    const { slot, buses } = this.chooseBuses(vm, facts, request.guestSlot, layout === 'multifunction' ? 1 : functions.length, request.freeSlot);
    const placed: PlacedHostdev[] = placeGpu(functions, slot, buses, layout, request.romFile);
    const end = xml.lastIndexOf('</devices>');
    if (end < 0) throw new VmProtocolError(`${vm}: the domain definition has no </devices>`, this.context(vm));
    return `${xml.slice(0, end)}${placed.map(hostdevXml).join('\n')}\n${xml.slice(end)}`;
  }

  /** The requested (or configured, or first free) root port for function 0, plus free ones for the rest. */
  private chooseBuses(vm: VmName, facts: DomainFacts, requested: GuestSlot | undefined, count: number, freeSlot = false): { slot: GuestSlot; buses: number[] } {
    const wanted = requested ?? (freeSlot ? undefined : this.config(vm).gpuSlot);
    const free = freeRootPorts(facts);
    const buses: number[] = [];
    let slot: GuestSlot;
    if (wanted) {
      const bus = guestBusNumber(wanted.bus);
      const port = facts.rootPorts.find((p) => p.index === bus);
      if (bus === null || !port) {
        throw new VmInvalidRequestError(`${vm}: guest bus ${wanted.bus} is not a pcie-root-port of this domain`, this.context(vm));
      }
      if (facts.usedBuses.has(bus)) throw new VmDeviceBusyError(`${vm}: guest bus ${port.alias} is in use`, this.context(vm));
      buses.push(bus);
      slot = { bus: port.alias, slot: wanted.slot };
    } else {
      const first = free[0];
      if (!first) throw new VmInvalidRequestError(`${vm}: no free pcie-root-port for the GPU`, this.context(vm));
      buses.push(first.index);
      slot = { bus: first.alias, slot: 0 };
    }
    for (const port of free) if (buses.length < count && !buses.includes(port.index)) buses.push(port.index);
    if (buses.length < count) {
      throw new VmInvalidRequestError(`${vm}: ${count} functions need ${count} free pcie-root-ports, the domain has ${free.length}; `
        + `add <controller type='pci' model='pcie-root-port'/> elements`, this.context(vm));
    }
    return { slot, buses };
  }

  private async waitForState(vm: VmName, state: VmStatus['state'], deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      if ((await this.state(vm)).state === state) return true;
      if (Date.now() >= deadline) return false;
      await waitedOn(new Promise((resolve) => setTimeout(resolve, Math.min(STATE_POLL_MS, Math.max(0, deadline - Date.now())))));
    }
  }

  private asStartFailure(vm: VmName, error: unknown): VmBackendError {
    if (!(error instanceof VmCommandFailedError)) return isVmBackendError(error) ? error : new VmStartFailedError(`${vm}: ${String(error)}`, { ...this.context(vm), cause: error });
    return new VmStartFailedError(error.message, {
      ...this.context(vm), cause: error,
      ...(error.hypervisorMessage === undefined ? {} : { hypervisorMessage: error.hypervisorMessage }),
      ...(error.hypervisorErrorClass === undefined ? {} : { hypervisorErrorClass: error.hypervisorErrorClass }),
    });
  }

  private startStreams(): void {
    for (const uri of new Set(this.options.vms.map((v) => v.uri))) {
      const stream = new VirshEventStream({
        uri,
        ...(this.options.virshPath === undefined ? {} : { virshPath: this.options.virshPath }),
        onEvent: (event) => this.emitDomainEvent(uri, event),
        onEnd: () => {
          this.streams.delete(uri);
          for (const vm of this.options.vms) if (vm.uri === uri) this.emit({ kind: 'disconnected', vm: vm.name });
        },
      });
      this.streams.set(uri, stream);
      stream.start();
    }
  }

  private async stopStreams(): Promise<void> {
    const streams = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(streams.map((s) => s.stop()));
  }

  private emitDomainEvent(uri: string, event: DomainEvent): void {
    for (const vm of this.options.vms) {
      if (vm.uri !== uri || vm.domain !== event.domain) continue;
      switch (event.kind) {
        case 'lifecycle': this.emit({ kind: 'state-changed', vm: vm.name, state: event.state, raw: event.raw }); break;
        case 'device-removed': this.emit({ kind: 'device-deleted', vm: vm.name, deviceId: event.alias, path: null }); break;
        case 'device-removal-failed': this.emit({ kind: 'device-unplug-error', vm: vm.name, deviceId: event.alias, path: null }); break;
        case 'other': break;
      }
    }
  }

  private emit(event: VmEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A subscriber's fault must not break the backend.
      }
    }
  }

  private handle(vm: VmName): DomainHandle {
    const config = this.config(vm);
    return {
      target: { vm, uri: config.uri },
      domain: config.domain,
      commandTimeoutMs: this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      ...(this.options.virshPath === undefined ? {} : { virshPath: this.options.virshPath }),
    };
  }

  private config(vm: VmName): LibvirtVmConfig {
    const config = this.options.vms.find((v) => v.name === vm);
    if (!config) throw new VmNotFoundError(`no libvirt VM named ${vm} is configured`, this.context(vm));
    return config;
  }

  private context(vm: VmName): { vm: string; hypervisor: 'libvirt' } {
    return { vm, hypervisor: 'libvirt' };
  }
}
