// The port every VM backend implements (QEMU/QMP, libvirt, Xen): what the helper needs to move a GPU.
import type { PciAddress } from '../pci-address.js';
import type { Hypervisor } from './errors.js';

/** A VM as the configuration names it. */
export type VmName = string;

export type VmState = 'running' | 'paused' | 'shut-off' | 'crashed' | 'starting' | 'unknown';

export interface VmStatus {
  state: VmState;
  /** The hypervisor's own state word (QMP RunState, virsh domstate, xl state flags). */
  raw: string;
}

export interface VmSummary extends VmStatus {
  name: VmName;
  hypervisor: Hypervisor;
}

/** Where the GPU lands in the guest: a hot-pluggable bus (e.g. a pcie-root-port id) and a slot on it. */
export interface GuestSlot {
  bus: string;
  slot: number;
}

export interface AttachGpuRequest {
  /** Host functions of one physical slot, function 0 first; each keeps its function number in the guest. */
  functions: readonly PciAddress[];
  /** VBIOS image given to function 0. */
  romFile?: string;
  /** Defaults to the backend's configured or first free hot-plug slot. */
  guestSlot?: GuestSlot;
  /** Without guestSlot: a free guest slot, never the configured GPU slot (for a device of another
   *  host slot that moves with the GPU, such as a USB controller). A backend that cannot pick one
   *  itself (QMP: it needs a root port id) refuses, naming the VM. */
  freeSlot?: boolean;
}

export interface AttachGpuResult {
  /** Hypervisor device ids, in the order of `functions`. */
  deviceIds: readonly string[];
  guestSlot: GuestSlot;
  /** How presence was confirmed: the guest-visible PCI tree, or only the hypervisor's object model
   *  (when the guest has not enumerated the bus yet, the PCI tree cannot show it). */
  verifiedBy: 'pci-tree' | 'object-model';
}

export interface DetachGpuOptions {
  /** The guest must confirm removal within this time, else GuestDidNotReleaseError. */
  deadlineMs: number;
  /** Remove the device without the guest's cooperation where the hypervisor can (xl pci-detach -f);
   *  only when the config allows forcing. Backends that cannot force ignore it. */
  force?: boolean;
}

export interface DetachGpuResult {
  /** Functions whose removal was confirmed. */
  removed: readonly PciAddress[];
  /** Functions the VM did not hold to begin with. */
  alreadyAbsent: readonly PciAddress[];
}

/**
 * A shutdown is a request to the guest. Without `forceAfterMs` the guest gets `deadlineMs`, and if it
 * is still running then (a Windows guest installing updates) the backend rejects with a
 * VmTimeoutError (operation 'shutdown') and leaves the VM running, with its devices: the move is
 * abandoned. Only an explicit `forceAfterMs` (the config's release.forceAfterSeconds) lets the
 * backend power the VM off by force, once that much time has passed since the request.
 */
export interface ShutdownOptions {
  /** Time the guest gets to power off by itself (used when forceAfterMs is not given). */
  deadlineMs: number;
  /** Power the VM off by force when the guest has not shut down within this time. */
  forceAfterMs?: number;
}

export interface ShutdownResult {
  /** graceful: the guest powered off; forced: forceAfterMs passed and the VM was ended; already-off: nothing ran. */
  outcome: 'graceful' | 'forced' | 'already-off';
}

/** How long a shutdown waits for the guest, and whether it may force after that. */
export function shutdownWait(options: ShutdownOptions): { waitMs: number; force: boolean } {
  return options.forceAfterMs === undefined ? { waitMs: options.deadlineMs, force: false } : { waitMs: options.forceAfterMs, force: true };
}

export const shutdownAbandonedMessage = (vm: VmName, waitMs: number): string =>
  `${vm}: the guest did not shut down within ${waitMs} ms; the move is abandoned and ${vm} keeps running (and keeps its devices); set release.forceAfterSeconds to power it off by force`;

export interface StartOptions {
  /** Cold-plug this GPU at start. */
  withGpu?: AttachGpuRequest;
  deadlineMs?: number;
}

export interface StartResult {
  /** The hypervisor process, when the backend owns one. */
  pid: number | null;
}

export type VmEvent =
  | { kind: 'state-changed'; vm: VmName; state: VmState; raw: string }
  | { kind: 'device-deleted'; vm: VmName; deviceId: string | null; path: string | null }
  | { kind: 'device-unplug-error'; vm: VmName; deviceId: string | null; path: string | null }
  | { kind: 'disconnected'; vm: VmName }
  | { kind: 'protocol-error'; vm: VmName; message: string };

export type VmEventListener = (event: VmEvent) => void;
export type Unsubscribe = () => void;

/** A relayed input (issue 12) for QEMU: an input-linux object on the relay's virtual evdev node. */
export interface VmInputRequest {
  /** QEMU object id ("baton-input-kbd"). */
  id: string;
  /** /dev/input/eventN of the relay's virtual device. */
  evdev: string;
  /** QEMU's grab-toggle (GrabToggleKeys, e.g. "ctrl-ctrl"); left out: QEMU's default. */
  grabToggle?: string;
}

/** What a backend does with relayed inputs; absent where the hypervisor cannot take an evdev device (Xen). */
export interface VmInputs {
  add(vm: VmName, input: VmInputRequest): Promise<void>;
  /** Idempotent: an object that is not there (the VM restarted, the helper died) is no error. */
  remove(vm: VmName, id: string): Promise<void>;
}

/**
 * Every method rejects with a VmBackendError subclass (see errors.ts), never a bare Error.
 */
export interface VmBackend {
  /** Relayed keyboards and mice (issue 12); absent: this hypervisor cannot take them. */
  readonly inputs?: VmInputs;
  readonly hypervisor: Hypervisor;
  listVms(): Promise<VmSummary[]>;
  state(vm: VmName): Promise<VmStatus>;
  pause(vm: VmName): Promise<void>;
  resume(vm: VmName): Promise<void>;
  /** Host PCI addresses passed through to the VM right now. */
  passthroughDevices(vm: VmName): Promise<PciAddress[]>;
  /** Attaches every function into one guest slot as one multi-function device, then verifies it. */
  attachGpu(vm: VmName, request: AttachGpuRequest): Promise<AttachGpuResult>;
  /** Resolves only once the hypervisor confirms every function is gone. */
  detachGpu(vm: VmName, functions: readonly PciAddress[], options: DetachGpuOptions): Promise<DetachGpuResult>;
  shutdown(vm: VmName, options: ShutdownOptions): Promise<ShutdownResult>;
  start(vm: VmName, options: StartOptions): Promise<StartResult>;
  events(listener: VmEventListener): Unsubscribe;
  /** Releases connections; VMs keep running. */
  close(): Promise<void>;
}
