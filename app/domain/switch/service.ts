// What the root helper offers its clients (CLI, tray app, browser UI), whatever carries it.
// The helper's RPC layer maps these calls one to one; the engine implements them.
import type { PciAddress } from '../pci-address.js';
import type { VmState } from '../vm/port.js';
import type { Owner, Requester, SwitchEvent, SwitchOutcome } from './ports.js';

/**
 * Where a GPU is, as status reports it: an Owner ('host', 'park', a VM name), or
 * 'lost' (nothing could put it back; `reason` has the state last seen),
 * 'wedged' (a kernel write for it never returned), or
 * 'absent' (configured, but not on the PCI bus; `match` says what was looked for), or
 * 'unknown' (never recorded, and a VM that might hold it does not answer).
 * Switches of a lost, wedged or absent GPU are refused with the reason; of an unknown one too, once
 * the switch has looked (a VM that cannot be asked is never taken for one that holds nothing).
 */
export type GpuOwnerState = Owner | 'lost' | 'wedged' | 'absent' | 'unknown';

export interface GpuStatus {
  name: string;
  /** Null when the GPU is absent and its config matches by ids. */
  address: PciAddress | null;
  owner: GpuOwnerState;
  functions: PciAddress[];
  /** A switch of this GPU is under way. */
  busy: boolean;
  /** What the config matches it by: "address 0000:01:00.0", "ids 10de:2204 (subsystem ...)". */
  match?: string;
  /** Why it is lost, wedged or absent, or why requests for it are refused now (a call past its deadline still running). */
  reason?: string;
}

export interface VmStatusEntry {
  name: string;
  backend: 'qmp' | 'libvirt' | 'xen';
  state: VmState;
  raw: string;
}

export interface StatusSnapshot {
  gpus: GpuStatus[];
  vms: VmStatusEntry[];
  /** Where the registry and reality disagree, as sentences a user can act on. */
  disagreements: string[];
  /** What start-up could not recover (journals set aside, GPUs gone, a recovery that failed). */
  recoveryProblems?: string[];
}

export interface SwitchRequest {
  /** The GPU's config name or PCI address. */
  gpu: string;
  /** A VM name, "host" or "park". */
  target: string;
  /** What the client says it is: a hint for the history. 'recovery' and 'chord' are refused from clients. */
  requestedBy: Requester;
  /** Who asked, from the socket's SO_PEERCRED (filled in by the helper's RPC layer, never by the client). */
  peer?: { uid: number; user: string | null };
}

export interface SwitchResult {
  switchId: string;
  outcome: SwitchOutcome;
  /** Where the GPU is now. */
  owner: Owner;
  error?: string;
  /** Set when a later request for the same GPU replaced this one before it ran. */
  supersededBy?: Owner;
}

export interface HistoryQuery {
  limit?: number;
  offset?: number;
  gpu?: string;
  vm?: string;
  outcome?: SwitchOutcome;
}

export type ServiceEvent = SwitchEvent | { kind: 'status'; status: StatusSnapshot } | { kind: 'history-appended'; entryId: string };

export interface BatonService {
  status(): Promise<StatusSnapshot>;
  /** Resolves when the switch has ended (or was superseded); progress arrives as events. */
  switchGpu(request: SwitchRequest): Promise<SwitchResult>;
  /** Newest first; the entry shape is the history module's. */
  history(query: HistoryQuery): Promise<{ entries: unknown[]; total: number; nextOffset?: number }>;
  reconcile(): Promise<string[]>;
  subscribe(listener: (event: ServiceEvent) => void): () => void;
}
