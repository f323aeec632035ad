// The VM backend port over QEMU's QMP: one socket per configured VM, connected lazily and
// reconnected lazily on the next call after a loss.
import { isCanonicalPciAddress, type PciAddress } from '../../domain/pci-address.js';
import {
  VmAlreadyRunningError,
  VmConnectionLostError,
  VmInvalidRequestError,
  VmNotFoundError,
  VmNotRunningError,
  VmTimeoutError,
  isVmBackendError,
} from '../../domain/vm/errors.js';
import type {
  AttachGpuRequest, AttachGpuResult, DetachGpuOptions, DetachGpuResult, GuestSlot, ShutdownOptions, ShutdownResult,
  StartOptions, StartResult, Unsubscribe, VmBackend, VmEvent, VmEventListener, VmName, VmStatus, VmSummary,
} from '../../domain/vm/port.js';
import { shutdownAbandonedMessage, shutdownWait } from '../../domain/vm/port.js';
import { QmpClient } from './client.js';
import { hostAddressFromDeviceId } from './device-ids.js';
import { vfioDeviceArgs, vfioFunctions } from './gpu-request.js';
import type { QmpEvent } from './messages.js';
import { launchQemu, type QemuProcess } from './qemu-process.js';
import { vmStateFromRunState } from './run-state.js';
import { monitorInputs } from './vm-inputs.js';
import { listPeripherals, plugSlot, unplugDevices } from './slot-plug.js';

export interface QmpVmConfig {
  name: VmName;
  socketPath: string;
  /** How to start it: argv[0] is the QEMU binary; no QMP monitor in it (the backend adds one at socketPath). */
  argv?: readonly string[];
  /** The working folder of the started QEMU (the config's start.cwd); default /. */
  cwd?: string;
  /** Where the GPU goes when a request names no slot, e.g. { bus: 'rp1', slot: 0 }. */
  gpuSlot?: GuestSlot;
}

export interface QmpBackendOptions {
  vms: readonly QmpVmConfig[];
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  startTimeoutMs?: number;
  /**
   * Why root must not run this program (owned by someone else, writable by others, folders on the
   * way too); checked before every start. The helper passes the host's trust check; empty: run it.
   */
  programProblems?: (path: string) => string[];
}

// After the guest powered off (or quit was sent), how long QEMU gets to exit.
const EXIT_GRACE_MS = 5_000;

export class QmpBackend implements VmBackend {
  readonly hypervisor = 'qmp' as const;
  private readonly clients = new Map<VmName, QmpClient>();
  private readonly connecting = new Map<VmName, Promise<QmpClient>>();
  private readonly processes = new Map<VmName, QemuProcess>();
  private readonly listeners = new Set<VmEventListener>();
  readonly inputs = monitorInputs('qmp', async (vm, command) => (await this.client(vm)).execute(command.execute, command.arguments));

  constructor(private readonly options: QmpBackendOptions) {}

  async listVms(): Promise<VmSummary[]> {
    return Promise.all(this.options.vms.map(async (vm) => {
      const status = await this.state(vm.name).catch((error: unknown) =>
        ({ state: 'unknown' as const, raw: isVmBackendError(error) ? error.kind : 'error' }));
      return { name: vm.name, hypervisor: this.hypervisor, ...status };
    }));
  }

  async state(vm: VmName): Promise<VmStatus> {
    let client: QmpClient;
    try {
      client = await this.client(vm);
    } catch (error) {
      // Nobody listens on the socket: no QEMU process, the VM is off.
      if (error instanceof VmNotRunningError) return { state: 'shut-off', raw: 'no-qmp-listener' };
      throw error;
    }
    const status = await client.execute('query-status');
    const raw = typeof status === 'object' && status !== null ? (status as { status?: unknown }).status : undefined;
    if (typeof raw !== 'string') return { state: 'unknown', raw: JSON.stringify(status) };
    return { state: vmStateFromRunState(raw), raw };
  }

  async pause(vm: VmName): Promise<void> {
    await (await this.client(vm)).execute('stop');
  }

  async resume(vm: VmName): Promise<void> {
    await (await this.client(vm)).execute('cont');
  }

  async passthroughDevices(vm: VmName): Promise<PciAddress[]> {
    return (await this.vfioDevices(await this.client(vm))).map((d) => d.host);
  }

  async attachGpu(vm: VmName, request: AttachGpuRequest): Promise<AttachGpuResult> {
    const functions = vfioFunctions(vm, request);
    const slot = this.slotFor(vm, request.guestSlot, request.freeSlot ? request.functions : null);
    const verifiedBy = await plugSlot(await this.client(vm), slot, functions);
    return { deviceIds: functions.map((f) => f.id), guestSlot: slot, verifiedBy };
  }

  async detachGpu(vm: VmName, functions: readonly PciAddress[], options: DetachGpuOptions): Promise<DetachGpuResult> {
    const client = await this.client(vm);
    const held = (await this.vfioDevices(client)).filter((d) => functions.includes(d.host));
    // Non-zero functions first, function 0 last: the reverse of how a slot is emptied by the guest.
    held.sort((a, b) => (a.host.endsWith('.0') ? 1 : 0) - (b.host.endsWith('.0') ? 1 : 0));
    if (held.length > 0) await unplugDevices(client, held.map((d) => d.device), options.deadlineMs);
    return {
      removed: held.map((d) => d.host),
      alreadyAbsent: functions.filter((f) => !held.some((d) => d.host === f)),
    };
  }

  async shutdown(vm: VmName, options: ShutdownOptions): Promise<ShutdownResult> {
    let client: QmpClient;
    try {
      client = await this.client(vm);
    } catch (error) {
      if (error instanceof VmNotRunningError) return { outcome: 'already-off' };
      throw error;
    }
    const { waitMs, force } = shutdownWait(options);
    const guestOff = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), waitMs);
      const stopEvents = client.onEvent((event) => { if (event.event === 'SHUTDOWN' && event.data.guest === true) finish(true); });
      const stopDisconnect = client.onDisconnect(() => finish(true));
      function finish(graceful: boolean) {
        clearTimeout(timer);
        stopEvents();
        stopDisconnect();
        resolve(graceful);
      }
    });
    await client.execute('system_powerdown');
    const graceful = await guestOff;
    if (!graceful && !force) throw new VmTimeoutError(shutdownAbandonedMessage(vm, waitMs), this.context(vm), 'shutdown', waitMs);
    // Also after a guest power-off: with -no-shutdown QEMU would stay and keep the GPU open.
    await client.execute('quit', undefined, { timeoutMs: EXIT_GRACE_MS }).catch((error: unknown) => {
      if (!(error instanceof VmConnectionLostError)) throw error;
    });
    await this.waitForExit(vm, client);
    return { outcome: graceful ? 'graceful' : 'forced' };
  }

  async start(vm: VmName, options: StartOptions): Promise<StartResult> {
    const config = this.config(vm);
    if (!config.argv) throw new VmInvalidRequestError(`${vm}: no command line configured to start it`, this.context(vm));
    const running = await this.client(vm).then(() => true, (error: unknown) => {
      if (error instanceof VmNotRunningError) return false;
      throw error;
    });
    if (running) throw new VmAlreadyRunningError(`${vm} is already running`, this.context(vm));
    const untrusted = this.options.programProblems?.(config.argv[0]!) ?? [];
    if (untrusted.length) throw new VmInvalidRequestError(`${vm}: refusing to run ${config.argv[0]} as root: ${untrusted.join('; ')}`, this.context(vm));
    const gpuArgs = options.withGpu ? vfioDeviceArgs(vfioFunctions(vm, options.withGpu), this.slotFor(vm, options.withGpu.guestSlot)) : [];
    const { process, client } = await launchQemu({
      ...this.clientOptions(config),
      argv: [...config.argv, ...gpuArgs],
      ...(config.cwd ? { cwd: config.cwd } : {}),
      deadlineMs: options.deadlineMs ?? this.options.startTimeoutMs ?? 30_000,
    });
    this.processes.set(vm, process);
    this.adopt(vm, client);
    return { pid: process.pid };
  }

  /** The QEMU this backend started for vm, if any (the helper and tests use it to reap or kill). */
  processOf(vm: VmName): QemuProcess | undefined {
    return this.processes.get(vm);
  }

  events(listener: VmEventListener): Unsubscribe {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /** A connected client for vm: the current one, or a new connection (lazy reconnect). */
  async client(vm: VmName): Promise<QmpClient> {
    const existing = this.clients.get(vm);
    if (existing?.connected) return existing;
    // QEMU's monitor serves one client at a time: concurrent callers share one connection attempt.
    let connecting = this.connecting.get(vm);
    if (!connecting) {
      connecting = QmpClient.connect(this.clientOptions(this.config(vm))).then((client) => {
        this.adopt(vm, client);
        return client;
      }).finally(() => this.connecting.delete(vm));
      this.connecting.set(vm, connecting);
    }
    return connecting;
  }

  private adopt(vm: VmName, client: QmpClient): void {
    this.clients.get(vm)?.close();
    this.clients.set(vm, client);
    client.onEvent((event) => this.emitQmpEvent(vm, event));
    client.onProtocolError((error) => this.emit({ kind: 'protocol-error', vm, message: error.message }));
    client.onDisconnect(() => {
      if (this.clients.get(vm) === client) this.clients.delete(vm);
      this.emit({ kind: 'disconnected', vm });
    });
  }

  private emitQmpEvent(vm: VmName, event: QmpEvent): void {
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    switch (event.event) {
      case 'STOP': return this.emit({ kind: 'state-changed', vm, state: 'paused', raw: 'paused' });
      case 'RESUME': return this.emit({ kind: 'state-changed', vm, state: 'running', raw: 'running' });
      case 'SHUTDOWN': return this.emit({ kind: 'state-changed', vm, state: 'shut-off', raw: 'shutdown' });
      case 'GUEST_PANICKED': return this.emit({ kind: 'state-changed', vm, state: 'crashed', raw: 'guest-panicked' });
      case 'DEVICE_DELETED':
        return this.emit({ kind: 'device-deleted', vm, deviceId: text(event.data.device), path: text(event.data.path) });
      case 'DEVICE_UNPLUG_GUEST_ERROR':
        return this.emit({ kind: 'device-unplug-error', vm, deviceId: text(event.data.device), path: text(event.data.path) });
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

  /** vfio-pci devices and the host function each holds: from QEMU's object model, ids or not. */
  private async vfioDevices(client: QmpClient): Promise<{ device: string; host: PciAddress }[]> {
    const out: { device: string; host: PciAddress }[] = [];
    for (const peripheral of await listPeripherals(client)) {
      if (peripheral.type !== 'vfio-pci') continue;
      const host = await this.vfioHost(client, peripheral.path);
      const fallback = peripheral.id ? hostAddressFromDeviceId(peripheral.id) : null;
      const address = host ?? fallback;
      if (address) out.push({ device: peripheral.id ?? peripheral.path, host: address });
    }
    return out;
  }

  private async vfioHost(client: QmpClient, path: string): Promise<PciAddress | null> {
    for (const property of ['host', 'sysfsdev']) {
      const value = await client.execute('qom-get', { path, property }).catch(() => null);
      if (typeof value !== 'string' || value === '') continue;
      // host prints as "0000:01:00.0"; sysfsdev is a path ending in that address.
      const candidate = value.slice(value.lastIndexOf('/') + 1);
      if (isCanonicalPciAddress(candidate)) return candidate;
    }
    return null;
  }

  private async waitForExit(vm: VmName, client: QmpClient): Promise<void> {
    const process = this.processes.get(vm);
    if (process) {
      if (!(await process.waitForExit(EXIT_GRACE_MS))) {
        process.kill('SIGKILL');
        await process.waitForExit(EXIT_GRACE_MS);
      }
      this.processes.delete(vm);
    } else if (client.connected) {
      // Not our process: the socket closing is the sign QEMU is gone.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, EXIT_GRACE_MS);
        const stop = client.onDisconnect(done);
        function done() { clearTimeout(timer); stop(); resolve(); }
      });
    }
    client.close();
  }

  private slotFor(vm: VmName, requested: GuestSlot | undefined, freeFor: readonly PciAddress[] | null = null): GuestSlot {
    if (!requested && freeFor) {
      throw new VmInvalidRequestError(`${vm}: ${freeFor.join(', ')} needs a guest slot of its own, and QEMU cannot pick one: add a root port id to peerSlots in ${vm}'s config`, this.context(vm));
    }
    const slot = requested ?? this.config(vm).gpuSlot;
    if (!slot) throw new VmInvalidRequestError(`${vm}: no guest slot given and none configured (gpuSlot)`, this.context(vm));
    return slot;
  }

  private config(vm: VmName): QmpVmConfig {
    const config = this.options.vms.find((v) => v.name === vm);
    if (!config) throw new VmNotFoundError(`no QEMU VM named ${vm} is configured`, this.context(vm));
    return config;
  }

  private clientOptions(config: QmpVmConfig) {
    return {
      vm: config.name,
      socketPath: config.socketPath,
      ...(this.options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.options.connectTimeoutMs }),
      ...(this.options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: this.options.commandTimeoutMs }),
    };
  }

  private context(vm: VmName): { vm: string; hypervisor: 'qmp' } {
    return { vm, hypervisor: 'qmp' };
  }
}

