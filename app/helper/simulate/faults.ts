// Faults planted in the simulated workstation: the next matching operation fails (error), runs past
// its deadline (timeout), never answers (hang), or (host operations) finds the GPU's kernel writer
// stuck in the kernel (wedged: EWEDGED now and for every later write until unwedge()). A hang ends
// only when releaseHangs() is called: the ports take no AbortSignal, so a caller that gives up must
// protect itself with its own timer, and a hang released with 'proceed' is a late success.
import type { PciAddress } from '../../domain/pci-address.js';

export const HOST_OPERATIONS = ['claim', 'release', 'reset', 'romFile'] as const;
export const VM_OPERATIONS = ['attach', 'detach', 'shutdown', 'start', 'pause', 'resume', 'passthroughDevices', 'state'] as const;
export type HostOperation = (typeof HOST_OPERATIONS)[number];
export type VmOperation = (typeof VM_OPERATIONS)[number];
export type Operation = HostOperation | VmOperation;
export type FaultKind = 'error' | 'timeout' | 'hang' | 'wedged';

export interface FaultSpec {
  operation: Operation;
  /** Only for this VM (VM operations); any VM when left out. */
  vm?: string;
  /** Only for this GPU, by any of its function addresses (host operations); any GPU when left out. */
  gpu?: PciAddress;
  kind: FaultKind;
  /** How many matching calls it hits; 1 by default, Infinity until cleared. */
  times?: number;
}

export interface Fault extends Required<Omit<FaultSpec, 'vm' | 'gpu'>> {
  id: number;
  vm?: string;
  gpu?: PciAddress;
  /** Calls it has hit so far. */
  hits: number;
}

export interface FaultTarget {
  vm?: string;
  /** Every function address of the GPU concerned. */
  gpuFunctions?: readonly PciAddress[];
}

/** What a released hang does next: carry on with the operation, or fail as if the connection broke. */
export type HangOutcome = 'proceed' | 'fail';

export class FaultBook {
  private faults: Fault[] = [];
  private nextId = 1;
  private readonly hangs = new Map<(outcome: HangOutcome) => void, string>();

  inject(spec: FaultSpec): Fault {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new RangeError(`times must be > 0, not ${times}`);
    if (spec.kind === 'wedged' && !(HOST_OPERATIONS as readonly string[]).includes(spec.operation)) {
      throw new RangeError(`a wedged fault is a kernel write that never returns: host operations only (${HOST_OPERATIONS.join(', ')}), not ${spec.operation}`);
    }
    const fault: Fault = { id: this.nextId++, operation: spec.operation, kind: spec.kind, times, hits: 0 };
    if (spec.vm !== undefined) fault.vm = spec.vm;
    if (spec.gpu !== undefined) fault.gpu = spec.gpu;
    this.faults.push(fault);
    return { ...fault };
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Clears every fault, or the one with this id. Hangs already under way stay hung. */
  clear(id?: number): void {
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
  }

  /** The fault this call hits, if any; counts the hit and retires a spent fault. */
  take(operation: Operation, target: FaultTarget): Fault | undefined {
    const fault = this.faults.find((f) =>
      f.operation === operation &&
      (f.vm === undefined || f.vm === target.vm) &&
      (f.gpu === undefined || (target.gpuFunctions ?? []).includes(f.gpu)));
    if (!fault) return undefined;
    fault.hits++;
    if (fault.hits >= fault.times) this.faults = this.faults.filter((f) => f !== fault);
    return { ...fault };
  }

  /** A promise that settles only through releaseHangs(); `what` names the call ("detach win11"). */
  hang(what = 'a call'): Promise<HangOutcome> {
    return new Promise((resolve) => {
      const release = (outcome: HangOutcome) => {
        this.hangs.delete(release);
        resolve(outcome);
      };
      this.hangs.set(release, what);
    });
  }

  get hanging(): number {
    return this.hangs.size;
  }

  /** What each hang under way is, oldest first. */
  hangingCalls(): string[] {
    return [...this.hangs.values()];
  }

  /** Ends every hang under way (or those whose name contains `only`); returns how many there were. */
  releaseHangs(outcome: HangOutcome = 'proceed', only?: string): number {
    const chosen = [...this.hangs].filter(([, what]) => only === undefined || what.includes(only)).map(([release]) => release);
    for (const release of chosen) release(outcome);
    return chosen.length;
  }
}
