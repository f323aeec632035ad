// Who really holds a GPU: the VMs' own device lists and the kernel's drivers, not Baton's records.
import type { BatonConfig } from '../../domain/config/index.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { BackendFor, HostPort, Owner } from '../../domain/switch/ports.js';
import { withDeadline } from './deadline.js';

export interface Observed {
  /** mixed: some functions on host drivers, some on the stub driver; conflict: more than one VM holds functions. */
  owner: Owner | 'mixed' | 'conflict';
  holders: string[];
  /** Holders that have only some of the GPU's functions (e.g. a hot-plug cut short between functions). */
  partial: string[];
  /** "vm-a running", for messages. */
  vmStates: string[];
}

const OBSERVE_DEADLINE_MS = 15_000;

export async function observeOwner(deps: { config: BatonConfig; host: HostPort; backendFor: BackendFor }, gpu: { functions: PciAddress[] }): Promise<Observed> {
  const holders: string[] = [];
  const partial: string[] = [];
  const vmStates: string[] = [];
  for (const vm of deps.config.vms) {
    const backend = deps.backendFor(vm.name);
    try {
      const status = await withDeadline(backend.state(vm.name), OBSERVE_DEADLINE_MS, `state of ${vm.name}`);
      vmStates.push(`${vm.name} ${status.state}`);
      if (status.state === 'shut-off') continue;
      const held = await withDeadline(backend.passthroughDevices(vm.name), OBSERVE_DEADLINE_MS, `devices of ${vm.name}`);
      const mine = gpu.functions.filter((f) => held.includes(f)).length;
      if (mine > 0) holders.push(vm.name);
      if (mine > 0 && mine < gpu.functions.length) partial.push(vm.name);
    } catch (err) {
      vmStates.push(`${vm.name} unknown (${(err as Error).message})`);
    }
  }
  if (holders.length > 1) return { owner: 'conflict', holders, partial, vmStates };
  if (holders.length === 1) return { owner: holders[0]!, holders, partial, vmStates };
  const drivers = await deps.host.drivers(gpu.functions);
  const onVfio = gpu.functions.filter((f) => drivers.get(f) === deps.host.stubDriver).length;
  const owner = onVfio === gpu.functions.length ? 'park' : onVfio === 0 ? 'host' : 'mixed';
  return { owner, holders, partial, vmStates };
}
