// The ports a switch drives. The real adapters sit on the kernel (app/host) and the hypervisors
// (app/backends); the simulated workstation implements the same ports in memory.
import type { HandoffPolicy } from '../handoff/policy.js';
import type { Inventory } from '../inventory/model.js';
import type { PciAddress } from '../pci-address.js';
import type { VmBackend, VmName } from '../vm/port.js';

export type ResetMethodName = 'auto' | 'flr' | 'pm' | 'bus' | 'device_specific' | 'hot_reset';

/** The host side of a switch: one physical GPU between host drivers and vfio-pci. */
export interface HostPort {
  /** The driver a GPU sits on while no host driver has it: vfio-pci on KVM hosts, pciback in a Xen dom0. */
  readonly stubDriver: string;
  /**
   * What the machine shows. 'gpus': only what decides about the GPUs (display functions, their
   * slots and IOMMU groups), without names; a list of addresses: only those functions' slots and
   * IOMMU groups, without names (a switch whose GPU the config names by address reads no other).
   */
  inventory(scope?: 'gpus' | readonly PciAddress[]): Promise<Inventory>;
  /** The driver bound to each function right now (null: none). */
  drivers(functions: readonly PciAddress[]): Promise<Map<PciAddress, string | null>>;
  /** Every function of the GPU (and the movable peers) to the stub driver; undone on failure. */
  claim(gpu: PciAddress, policy: HandoffPolicy): Promise<void>;
  /** Every function back to its host driver, function 0 first. Refuses while a VM holds the group. */
  release(gpu: PciAddress, policy: HandoffPolicy): Promise<void>;
  reset(gpu: PciAddress, method: ResetMethodName): Promise<{ method: string; ms: number }>;
  /** The ROM file the next VM gets for this GPU, or undefined to use the card's own. */
  romFile(gpu: PciAddress, source: { source: 'file'; file: string } | { source: 'capture' } | undefined): Promise<string | undefined>;
}

/** The backend that runs a VM, by the VM's config name. */
export type BackendFor = (vm: VmName) => VmBackend;

export type Owner = 'host' | 'park' | VmName;
/** Who asked: a client's word for itself (tray, shortcut, cli, browser), or the helper's own
 *  (recovery after a crash; chord, a key chord the helper itself saw). */
export type Requester = 'tray' | 'shortcut' | 'cli' | 'browser' | 'recovery' | 'chord';

export type StepName = 'release' | 'claim' | 'reset' | 'vbios' | 'attach' | 'return-to-host' | 'move-input' | 'verify';
export type StepOutcome = 'ok' | 'failed' | 'undone' | 'skipped';

/** Progress of a switch as clients see it; one event per step start and end. */
export type SwitchEvent =
  | { kind: 'switch-started'; switchId: string; gpu: string; from: Owner; to: Owner; requestedBy: Requester }
  | { kind: 'step-started'; switchId: string; step: StepName; detail: string; at: string }
  | { kind: 'step-ended'; switchId: string; step: StepName; outcome: StepOutcome; ms: number; error?: string }
  | { kind: 'switch-ended'; switchId: string; outcome: SwitchOutcome; owner: Owner; error?: string }
  | { kind: 'request-coalesced'; gpu: string; replacedTarget: Owner; target: Owner };

export type SwitchOutcome = 'succeeded' | 'failed' | 'rolled-back' | 'parked' | 'superseded';
