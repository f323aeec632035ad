// VmBackend over the simulated workstation, one instance per hypervisor kind serving every VM of
// that kind. Same semantics as the real backends: detachGpu resolves only once every function is
// gone and rejects with GuestDidNotReleaseError at the deadline; shutdown is graceful, forced at
// the deadline, or already-off; every failure is a VmBackendError. Only the Xen one can force a detach.
import { attachRequestProblem } from '../../domain/vm/attach-request.js';
import { type PciAddress } from '../../domain/pci-address.js';
import {
  GuestDidNotReleaseError, VmAlreadyRunningError, VmBackendError, VmCommandFailedError, VmConnectionLostError, VmDeviceBusyError,
  VmInvalidRequestError, VmNotFoundError, VmNotRunningError, VmStartFailedError, VmTimeoutError, type Hypervisor, type VmErrorContext,
} from '../../domain/vm/errors.js';
import type {
  AttachGpuRequest, AttachGpuResult, DetachGpuOptions, DetachGpuResult, GuestSlot, ShutdownOptions, ShutdownResult, StartOptions,
  StartResult, Unsubscribe, VmBackend, VmEventListener, VmInputs, VmName, VmState, VmStatus, VmSummary,
} from '../../domain/vm/port.js';
import { shutdownAbandonedMessage, shutdownWait } from '../../domain/vm/port.js';
import type { VmOperation } from './faults.js';
import { ADAPTER_DEADLINES } from './timing.js';
import { COMMANDS, commandMessage, deviceIdFor, ERROR_CLASS, FAULT_TEXT, PLUG_TEXT, rawState } from './wording.js';
import type { PlugProblem, SimVm, Workstation } from './workstation.js';

export class SimulatedVmBackend implements VmBackend {
  /** QEMU's input-linux objects in each running VM (QMP and libvirt; Xen cannot take evdev inputs). */
  readonly inputs?: VmInputs;
  private readonly inputObjects = new Map<VmName, Map<string, string>>();

  constructor(private readonly ws: Workstation, readonly hypervisor: Hypervisor) {
    if (hypervisor !== 'xen') {
      this.inputs = {
        add: async (name, input) => {
          const vm = this.vm(name);
          if (vm.state !== 'running' && vm.state !== 'paused') throw new VmNotRunningError(`${name} is ${vm.state}`, { vm: name, hypervisor });
          const objects = this.inputObjects.get(name) ?? new Map<string, string>();
          if (objects.has(input.id)) throw new VmCommandFailedError(`${name}: attempt to add duplicate property '${input.id}' to object (type 'container')`, { vm: name, hypervisor });
          objects.set(input.id, input.evdev);
          this.inputObjects.set(name, objects);
        },
        remove: async (name, id) => void this.inputObjects.get(name)?.delete(id),
      };
    }
  }

  /** The input objects a VM holds now (id → evdev node), for tests. */
  inputObjectsOf(name: VmName): Record<string, string> {
    const vm = this.vm(name);
    if (vm.state === 'shut-off') this.inputObjects.delete(name); // a VM that stopped lost them
    return Object.fromEntries(this.inputObjects.get(name) ?? []);
  }

  async listVms(): Promise<VmSummary[]> {
    const names = this.ws.vmNames().filter((name) => this.ws.vm(name).spec.hypervisor === this.hypervisor);
    return Promise.all(names.map(async (name) => {
      const status = await this.state(name).catch((error: unknown) =>
        ({ state: 'unknown' as const, raw: error instanceof VmBackendError ? error.kind : 'error' }));
      return { name, hypervisor: this.hypervisor, ...status };
    }));
  }

  async state(name: VmName): Promise<VmStatus> {
    const vm = this.vm(name);
    await this.enter('state', vm);
    await this.ws.clock.step(this.ws.latencies.queryMs);
    return { state: vm.state, raw: rawState(this.hypervisor, vm.state) };
  }

  async pause(name: VmName): Promise<void> {
    const vm = this.vm(name);
    await this.enter('pause', vm);
    this.requireRunning(vm, 'pause');
    await this.ws.clock.step(this.ws.latencies.pauseMs);
    if (vm.state !== 'running') return;
    this.ws.setState(name, 'paused', rawState(this.hypervisor, 'paused'));
    vm.pausedByCall = true;
  }

  async resume(name: VmName): Promise<void> {
    const vm = this.vm(name);
    await this.enter('resume', vm);
    this.requireRunning(vm, 'resume');
    await this.ws.clock.step(this.ws.latencies.pauseMs);
    if (vm.state !== 'paused') return;
    this.ws.setState(name, 'running', rawState(this.hypervisor, 'running'));
    // A guest that was paused with an unplug pending answers it now.
    this.guestAnswersUnplug(vm);
  }

  async passthroughDevices(name: VmName): Promise<PciAddress[]> {
    const vm = this.vm(name);
    await this.enter('passthroughDevices', vm);
    // QEMU has no monitor to ask when it is not running; libvirt and xl answer for a stopped domain.
    if (vm.state === 'shut-off') {
      if (this.hypervisor === 'qmp') throw this.notRunning(vm, 'passthroughDevices');
      return [];
    }
    await this.ws.clock.step(this.ws.latencies.queryMs);
    return [...vm.held.keys()];
  }

  /** A guest slot no function holds, beside the GPU's (QEMU cannot choose one: it needs a root port id). */
  private freeSlot(vm: SimVm, request: AttachGpuRequest): GuestSlot {
    if (this.hypervisor === 'qmp') {
      throw new VmInvalidRequestError(`${vm.spec.name}: ${request.functions.join(', ')} needs a guest slot of its own, and QEMU cannot pick one: add a root port id to peerSlots in ${vm.spec.name}'s config`, this.context(vm));
    }
    const used = new Set([...vm.held.values()].filter((h) => h.guestSlot.bus === vm.spec.guestSlot.bus).map((h) => h.guestSlot.slot));
    used.add(vm.spec.guestSlot.slot);
    let slot = 0;
    while (used.has(slot)) slot++;
    return { bus: vm.spec.guestSlot.bus, slot };
  }

  async attachGpu(name: VmName, request: AttachGpuRequest): Promise<AttachGpuResult> {
    const vm = this.vm(name);
    this.checkRequest(vm, request);
    const slot = request.guestSlot ?? (request.freeSlot ? this.freeSlot(vm, request) : vm.spec.guestSlot);
    await this.enter('attach', vm);
    const problem = this.ws.plugProblem(name, request.functions, slot);
    if (problem) throw this.plugError(vm, 'attach', problem);
    // The hypervisor opens the group at once: a second VM asking meanwhile finds it busy.
    const functions = request.functions.map((address) => ({ address, deviceId: deviceIdFor(this.hypervisor, address) }));
    this.ws.plug(name, functions, slot);
    await this.ws.clock.step(this.ws.latencies.attachMs[this.hypervisor]);
    const missing = request.functions.filter((a) => !vm.held.has(a));
    if (missing.length) throw this.failed(vm, 'attach', `${missing.join(', ')} vanished before it could be verified (the VM is ${vm.state})`);
    return { deviceIds: functions.map((f) => f.deviceId), guestSlot: slot, verifiedBy: vm.state === 'running' ? 'pci-tree' : 'object-model' };
  }

  async detachGpu(name: VmName, functions: readonly PciAddress[], options: DetachGpuOptions): Promise<DetachGpuResult> {
    const vm = this.vm(name);
    if (vm.state === 'shut-off') throw this.notRunning(vm, 'detach');
    const commandDeadline = Math.max(1_000, Math.min(options.deadlineMs, ADAPTER_DEADLINES.commandMs));
    const fault = await this.enter('detach', vm, commandDeadline);
    const held = functions.filter((a) => vm.held.has(a));
    const alreadyAbsent = functions.filter((a) => !vm.held.has(a));
    if (held.length === 0) return { removed: [], alreadyAbsent };
    const pending = held.find((a) => vm.pendingUnplug.has(a));
    if (pending) {
      const text = this.hypervisor === 'qmp' ? `Device ${vm.held.get(pending)?.deviceId} is already in the process of unplug` : `device ${pending} is already being detached`;
      throw new VmDeviceBusyError(commandMessage(this.hypervisor, 'detach', name, text), this.context(vm, { device: pending, hypervisorMessage: text }));
    }
    if (fault?.kind === 'error') {
      // The guest refuses: it answers with an unplug error and keeps the devices.
      await this.ws.clock.step(this.ws.latencies.detachMs);
      const ids = held.map((a) => vm.held.get(a)?.deviceId ?? a);
      for (const id of ids) this.ws.emit({ kind: 'device-unplug-error', vm: name, deviceId: id, path: `/machine/peripheral/${id}` });
      throw new GuestDidNotReleaseError(`${name}: the guest refused to unplug ${ids.join(', ')}`, this.context(vm, { device: ids.join(', ') }), ids, options.deadlineMs);
    }
    if (options.force && this.hypervisor === 'xen') {
      // xl pci-detach -f takes the device away whatever the guest (running or paused) does.
      await this.ws.clock.step(this.ws.latencies.forceDetachMs);
      this.ws.unplug(name, held);
      return { removed: held, alreadyAbsent };
    }
    for (const a of held) vm.pendingUnplug.add(a);
    const gone = this.waitUntilGone(vm, held, options.deadlineMs);
    this.guestAnswersUnplug(vm);
    await gone;
    return { removed: held, alreadyAbsent };
  }

  async shutdown(name: VmName, options: ShutdownOptions): Promise<ShutdownResult> {
    const vm = this.vm(name);
    if (vm.state === 'shut-off') return { outcome: 'already-off' };
    await this.enter('shutdown', vm);
    if (stateOf(vm) === 'shut-off') return { outcome: 'already-off' };
    // A shutdown is a request: a paused guest cannot see the power button, and one that ignores it
    // keeps running (and keeps its devices) past the deadline, unless forceAfterMs allows a power-off.
    const { waitMs, force } = shutdownWait(options);
    const powerOffMs = this.ws.clock.scaled(this.ws.latencies.shutdownMs);
    const graceful = vm.state === 'running' && vm.powersOff && powerOffMs < waitMs;
    await this.ws.clock.wait(graceful ? powerOffMs : waitMs);
    if (!graceful && !force) throw new VmTimeoutError(shutdownAbandonedMessage(name, waitMs), this.context(vm), 'shutdown', waitMs);
    this.ws.setState(name, 'shut-off', this.hypervisor === 'qmp' ? 'shutdown' : rawState(this.hypervisor, 'shut-off'));
    return { outcome: graceful ? 'graceful' : 'forced' };
  }

  async start(name: VmName, options: StartOptions): Promise<StartResult> {
    const vm = this.vm(name);
    if (vm.state !== 'shut-off') throw new VmAlreadyRunningError(`${name} is already running`, this.context(vm));
    if (options.withGpu) this.checkRequest(vm, options.withGpu);
    await this.enter('start', vm, options.deadlineMs ?? this.ws.clock.scaled(ADAPTER_DEADLINES.startMs));
    if (vm.state !== 'shut-off') throw new VmAlreadyRunningError(`${name} is already running`, this.context(vm));
    this.ws.setState(name, 'starting', rawState(this.hypervisor, 'starting'));
    if (options.withGpu) {
      const slot = options.withGpu.guestSlot ?? vm.spec.guestSlot;
      const problem = this.ws.plugProblem(name, options.withGpu.functions, slot);
      if (problem) {
        this.ws.setState(name, 'shut-off', rawState(this.hypervisor, 'shut-off'));
        const cause = this.plugError(vm, 'start', problem);
        throw new VmStartFailedError(`${name} did not start: ${cause.hypervisorMessage ?? cause.message}`, this.context(vm, { cause, hypervisorMessage: cause.hypervisorMessage ?? cause.message }));
      }
      this.ws.plug(name, options.withGpu.functions.map((address) => ({ address, deviceId: deviceIdFor(this.hypervisor, address) })), slot);
    }
    await this.ws.clock.step(this.ws.latencies.startMs);
    if (stateOf(vm) !== 'starting') throw new VmStartFailedError(`${name} stopped while starting (now ${vm.state})`, this.context(vm));
    this.ws.setState(name, 'running', rawState(this.hypervisor, 'running'));
    return { pid: this.hypervisor === 'qmp' ? vm.pid : null };
  }

  events(listener: VmEventListener): Unsubscribe {
    return this.ws.on((event) => {
      if (this.ws.hasVm(event.vm) && this.ws.vm(event.vm).spec.hypervisor === this.hypervisor) listener(event);
    });
  }

  async close(): Promise<void> {
    // Nothing to let go of: the simulated VMs keep running, as real ones do.
  }

  // --- the guest ---

  /** A running, cooperative guest acknowledges every pending unplug after the hot-unplug latency. */
  private guestAnswersUnplug(vm: SimVm): void {
    if (vm.pendingUnplug.size === 0 || vm.state !== 'running' || !vm.releasesDevices) return;
    void this.ws.clock.step(this.ws.latencies.detachMs).then(() => {
      if (vm.state === 'running' && vm.releasesDevices) this.ws.unplug(vm.spec.name, [...vm.pendingUnplug]);
    });
  }

  /** Resolves when none of the functions is held any more; GuestDidNotReleaseError at the deadline. */
  private waitUntilGone(vm: SimVm, functions: readonly PciAddress[], deadlineMs: number): Promise<void> {
    const name = vm.spec.name;
    return new Promise((resolve, reject) => {
      const check = () => { if (functions.every((a) => !vm.held.has(a))) finish(); };
      const stop = this.ws.on((event) => { if (event.vm === name) check(); });
      const timer = setTimeout(() => {
        stop();
        const waiting = functions.filter((a) => vm.held.has(a)).map((a) => vm.held.get(a)?.deviceId ?? a);
        reject(new GuestDidNotReleaseError(`${name}: the guest did not release ${waiting.join(', ')} within ${deadlineMs} ms`,
          this.context(vm, { device: waiting.join(', ') }), waiting, deadlineMs));
      }, deadlineMs);
      function finish() {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
  }

  // --- faults ---

  /** Takes the fault for this call: a hang waits for releaseHangs(); a timeout waits out the deadline
   *  and throws; an error throws here, except for detach, which returns it (the guest refuses later). */
  private async enter(operation: VmOperation, vm: SimVm, deadlineMs = this.ws.clock.scaled(ADAPTER_DEADLINES.commandMs)) {
    const fault = this.ws.faults.take(operation, { vm: vm.spec.name });
    if (!fault) return undefined;
    if (fault.kind === 'hang') {
      if ((await this.ws.faults.hang(`${operation} ${vm.spec.name}`)) === 'proceed') return undefined;
      throw this.connectionLost(vm, operation);
    }
    if (fault.kind === 'timeout') {
      await this.ws.clock.wait(deadlineMs);
      const command = COMMANDS[this.hypervisor][operation];
      throw new VmTimeoutError(commandMessage(this.hypervisor, operation, vm.spec.name, `no answer within ${deadlineMs} ms`), this.context(vm), command, deadlineMs);
    }
    if (operation === 'detach') return fault;
    const text = FAULT_TEXT[this.hypervisor][operation] ?? 'command failed';
    if (operation === 'state' || operation === 'passthroughDevices') throw this.connectionLost(vm, operation, text);
    if (operation === 'start') throw new VmStartFailedError(`${vm.spec.name} did not start: ${text}`, this.context(vm, { hypervisorMessage: text }));
    throw this.failed(vm, operation, text);
  }

  // --- errors, worded as the hypervisor words them ---

  private vm(name: VmName): SimVm {
    if (!this.ws.hasVm(name) || this.ws.vm(name).spec.hypervisor !== this.hypervisor) {
      throw new VmNotFoundError(`no ${this.hypervisor} VM named ${name} is configured`, { vm: name, hypervisor: this.hypervisor });
    }
    return this.ws.vm(name);
  }

  private requireRunning(vm: SimVm, operation: VmOperation): void {
    if (vm.state === 'shut-off' || vm.state === 'starting') throw this.notRunning(vm, operation);
  }

  private notRunning(vm: SimVm, operation: VmOperation): VmNotRunningError {
    return new VmNotRunningError(`${COMMANDS[this.hypervisor][operation]} on ${vm.spec.name}: the VM is not running`, this.context(vm));
  }

  private connectionLost(vm: SimVm, operation: VmOperation, text = 'the connection to the hypervisor was lost'): VmConnectionLostError {
    return new VmConnectionLostError(commandMessage(this.hypervisor, operation, vm.spec.name, text), this.context(vm, { hypervisorMessage: text }));
  }

  private failed(vm: SimVm, operation: VmOperation, text: string, extra: Partial<VmErrorContext> = {}): VmCommandFailedError {
    return new VmCommandFailedError(commandMessage(this.hypervisor, operation, vm.spec.name, text),
      this.context(vm, { hypervisorMessage: text, hypervisorErrorClass: ERROR_CLASS[this.hypervisor], ...extra }));
  }

  private plugError(vm: SimVm, operation: VmOperation, problem: PlugProblem): VmBackendError {
    const words = PLUG_TEXT[this.hypervisor];
    const busy = (address: string, text: string) => new VmDeviceBusyError(commandMessage(this.hypervisor, operation, vm.spec.name, text),
      this.context(vm, { device: address, hypervisorMessage: text, hypervisorErrorClass: ERROR_CLASS[this.hypervisor] }));
    switch (problem.code) {
      case 'not-running': return this.notRunning(vm, operation);
      case 'unknown-function': return this.failed(vm, operation, words.unknown(problem.address), { device: problem.address });
      case 'not-on-vfio': return this.failed(vm, operation, words.notOnVfio(problem.address, problem.group), { device: problem.address });
      case 'held-elsewhere': return busy(problem.address, words.heldElsewhere(problem.address, problem.group, problem.holder));
      case 'already-held': return busy(problem.address, words.alreadyHeld(problem.address, deviceIdFor(this.hypervisor, problem.address), vm.spec.name));
      case 'slot-occupied': return busy(problem.by, words.slotOccupied(problem.slot.bus, problem.slot.slot));
    }
  }

  /** The same checks as the real backends' request validation (app/backends/qmp/gpu-request.ts). */
  private checkRequest(vm: SimVm, request: AttachGpuRequest): void {
    const fail = (why: string) => new VmInvalidRequestError(`${vm.spec.name}: cannot attach ${request.functions.join(', ') || 'nothing'}: ${why}`, this.context(vm));
    const problem = attachRequestProblem(request);
    if (problem) throw fail(problem);
    if (request.guestSlot) checkSlot(request.guestSlot, fail);
  }

  private context(vm: SimVm, extra: Partial<VmErrorContext> = {}): VmErrorContext {
    return { vm: vm.spec.name, hypervisor: this.hypervisor, ...extra };
  }
}

/** The state now: it may have changed while a call was waiting (TypeScript narrows across awaits). */
function stateOf(vm: SimVm): VmState {
  return vm.state;
}

function checkSlot(slot: GuestSlot, fail: (why: string) => Error): void {
  if (!Number.isInteger(slot.slot) || slot.slot < 0 || slot.slot > 31) throw fail(`guest slot ${slot.slot} is not 0-31`);
}
