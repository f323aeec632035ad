// Who really holds a GPU: the VMs' own device lists and the kernel's drivers, not Baton's records.
// A VM that cannot be asked is `unknown`, never "holds nothing": while any VM could hold the GPU
// unseen, the owner is `unknown` and nothing may move it.
import type { BatonConfig } from '../../domain/config/index.js';
import type { ObservedVm } from '../../domain/ownership/reconcile.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { BackendFor, HostPort, Owner } from '../../domain/switch/ports.js';
import { withDeadline } from './deadline.js';

export interface Observed {
  /** mixed: some functions on host drivers, some on the stub driver; conflict: more than one VM holds
   *  functions; unknown: no VM that answered holds it, a VM that did not answer might. */
  owner: Owner | 'mixed' | 'conflict' | 'unknown';
  holders: string[];
  /** Holders that have only some of the GPU's functions (e.g. a hot-plug cut short between functions). */
  partial: string[];
  /** VMs that could not be asked, with why ("win11: no answer within 15000 ms"). */
  unknown: string[];
  /** "vm-a running", for messages. */
  vmStates: string[];
  /** The driver of each function, as the kernel showed it. */
  drivers: Map<PciAddress, string | null>;
}

export const OBSERVE_DEADLINE_MS = 15_000;

export interface ObserveDeps {
  config: BatonConfig;
  host: HostPort;
  backendFor: BackendFor;
  /** Deadline for each question to a VM (tests shorten it). */
  observeDeadlineMs?: number;
}

/** Every configured VM's state and passthrough devices; devices null when the VM could not be asked. */
export async function observeVms(deps: ObserveDeps): Promise<(ObservedVm & { problem?: string })[]> {
  const ms = deps.observeDeadlineMs ?? OBSERVE_DEADLINE_MS;
  return Promise.all(deps.config.vms.map(async (vm) => {
    const backend = deps.backendFor(vm.name);
    try {
      const status = await withDeadline(backend.state(vm.name), ms, `state of ${vm.name}`);
      if (status.state === 'shut-off') return { name: vm.name, state: status.state, devices: [] };
      const devices = await withDeadline(backend.passthroughDevices(vm.name), ms, `devices of ${vm.name}`);
      return { name: vm.name, state: status.state, devices };
    } catch (err) {
      return { name: vm.name, state: 'unknown' as const, devices: null, problem: (err as Error).message };
    }
  }));
}

/** The one observation of a GPU's owner, from VMs already asked (observeVms) and the kernel's drivers. */
export async function ownerFrom(deps: { host: HostPort }, gpu: { functions: PciAddress[] }, vms: (ObservedVm & { problem?: string })[]): Promise<Observed> {
  const holders: string[] = [];
  const partial: string[] = [];
  const unknown: string[] = [];
  const vmStates: string[] = [];
  for (const vm of vms) {
    if (vm.devices === null) {
      unknown.push(`${vm.name}: ${vm.problem ?? `state ${vm.state}`}`);
      vmStates.push(`${vm.name} unknown (${vm.problem ?? 'could not be asked'})`);
      continue;
    }
    vmStates.push(`${vm.name} ${vm.state}`);
    const mine = gpu.functions.filter((f) => vm.devices!.includes(f)).length;
    if (mine > 0) holders.push(vm.name);
    if (mine > 0 && mine < gpu.functions.length) partial.push(vm.name);
  }
  const drivers = await deps.host.drivers(gpu.functions);
  const base = { holders, partial, unknown, vmStates, drivers };
  if (holders.length > 1) return { owner: 'conflict', ...base };
  if (holders.length === 1) return { owner: holders[0]!, ...base };
  const onStub = gpu.functions.filter((f) => drivers.get(f) === deps.host.stubDriver).length;
  // A VM can only hold functions on the stub driver: with all of them on host drivers no VM has it,
  // whether every VM answered or not. Otherwise a VM that did not answer might hold it.
  if (onStub > 0 && unknown.length > 0) return { owner: 'unknown', ...base };
  const owner = onStub === gpu.functions.length ? 'park' : onStub === 0 ? 'host' : 'mixed';
  return { owner, ...base };
}

export async function observeOwner(deps: ObserveDeps, gpu: { functions: PciAddress[] }): Promise<Observed> {
  return ownerFrom(deps, gpu, await observeVms(deps));
}

/** The observation in one line, for history entries, refusals and the lost/wedged reason. */
export function describeObserved(seen: Observed): string {
  const drivers = [...seen.drivers].map(([f, d]) => `${f} on ${d ?? 'no driver'}`).join(', ');
  const held = seen.holders.length ? `held by ${seen.holders.join(', ')}${seen.partial.length ? ` (partly: ${seen.partial.join(', ')})` : ''}` : 'held by no VM that answered';
  return `seen: ${seen.owner}; ${drivers}; ${held}; VMs: ${seen.vmStates.join(', ')}`;
}
