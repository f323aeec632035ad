// The simulated workstation: the same ports as the real host and hypervisors, in memory, for demos,
// UI work and the engine's fault matrix. Never used where the real thing can run.
import type { BatonConfig } from '../../domain/config/index.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { BackendFor, Owner } from '../../domain/switch/ports.js';
import type { Hypervisor } from '../../domain/vm/errors.js';
import type { VmState } from '../../domain/vm/port.js';
import { simulatedConfig } from './config.js';
import type { Fault, FaultSpec, HangOutcome } from './faults.js';
import { SimulatedHost } from './host.js';
import { SimulatedInputs } from './input.js';
import { GPU_A, GPU_B, WORKSTATION, type MachineSpec, type VmSpec } from './machine.js';
import { mergeLatencies, type LatencyOverrides } from './timing.js';
import { SimulatedVmBackend } from './vm-backend.js';
import { deviceIdFor } from './wording.js';
import { Workstation, type WorkstationSnapshot } from './workstation.js';

export { SimulatedHost, SimulatedWedgedWrite } from './host.js';
export { SimulatedVmBackend } from './vm-backend.js';
export { SimulatedInputs } from './input.js';
export { Workstation, type WorkstationSnapshot } from './workstation.js';
export { DEFAULT_LATENCIES, type Latencies, type LatencyOverrides } from './timing.js';
export { HOST_OPERATIONS, VM_OPERATIONS, type Fault, type FaultKind, type FaultSpec, type HangOutcome, type Operation } from './faults.js';
export { GPU_A, GPU_B, WORKSTATION } from './machine.js';
export { simulatedConfig, simulatedConfigYaml } from './config.js';

export interface SimulatedWorkstationOptions {
  /** Multiplies every step latency: 1 real time (default), 0.01 fast, 0 instant. Caller deadlines are never scaled. */
  speed?: number;
  latencies?: LatencyOverrides;
  /** Initial VM states and guest behaviour, by VM name. */
  vms?: Record<string, Partial<Pick<VmSpec, 'releasesDevices' | 'powersOff'>> & { state?: Extract<VmState, 'running' | 'paused' | 'shut-off'> }>;
  /** Where each GPU starts, by config name (default: both on the host). */
  owners?: Partial<Record<'gpu-a' | 'gpu-b', Owner>>;
  /** Folder for the helper's socket, journal, history and VBIOS store in the config. */
  stateDir?: string;
}

export interface SimulatedWorkstation {
  host: SimulatedHost;
  backendFor: BackendFor;
  /** One backend per hypervisor kind, each serving the VMs of its kind. */
  backends: Record<Hypervisor, SimulatedVmBackend>;
  workstation: Workstation;
  /** The keyboards and mice that follow GPUs (the input port). */
  inputs: SimulatedInputs;
  config: BatonConfig;
  injectFault(spec: FaultSpec): Fault;
  faults(): Fault[];
  clearFaults(id?: number): void;
  /** Ends every simulated hang (or those whose call name contains `only`, e.g. "detach win11"):
   *  'proceed' lets the operation run on (a late success), 'fail' makes it fail. */
  releaseHangs(outcome?: HangOutcome, only?: string): number;
  /** The calls hanging now ("claim 0000:01:00.0", "state win11"). */
  hangingCalls(): string[];
  /** The GPU's stuck kernel writer is gone (its write never landed): one GPU, or all. */
  unwedge(gpu?: PciAddress): void;
  snapshot(): WorkstationSnapshot;
  assertConsistent(): string[];
}

export function createSimulatedWorkstation(options: SimulatedWorkstationOptions = {}): SimulatedWorkstation {
  const machine: MachineSpec = {
    ...WORKSTATION,
    vms: WORKSTATION.vms.map((vm) => ({ ...vm, ...options.vms?.[vm.name] })),
  };
  const unknown = Object.keys(options.vms ?? {}).filter((name) => !machine.vms.some((vm) => vm.name === name));
  if (unknown.length) throw new RangeError(`no simulated VM named ${unknown.join(', ')} (known: ${machine.vms.map((vm) => vm.name).join(', ')})`);

  const config = simulatedConfig(options.stateDir === undefined ? {} : { stateDir: options.stateDir });
  const workstation = new Workstation(machine, mergeLatencies(options.latencies), options.speed ?? 1);
  for (const [name, address] of [['gpu-a', GPU_A], ['gpu-b', GPU_B]] as const) {
    const owner = options.owners?.[name];
    if (owner !== undefined && owner !== 'host') {
      const hypervisor = owner === 'park' ? 'qmp' : workstation.vm(owner).spec.hypervisor;
      workstation.place(address, owner, (a) => deviceIdFor(hypervisor, a));
    }
  }

  const host = new SimulatedHost(workstation, { vbiosStore: config.helper.vbiosStore });
  const backends: Record<Hypervisor, SimulatedVmBackend> = {
    qmp: new SimulatedVmBackend(workstation, 'qmp'),
    libvirt: new SimulatedVmBackend(workstation, 'libvirt'),
    xen: new SimulatedVmBackend(workstation, 'xen'),
  };
  // An unknown VM goes to the QMP backend, which rejects it with VmNotFoundError like the real one.
  const backendFor: BackendFor = (vm) => backends[workstation.hasVm(vm) ? workstation.vm(vm).spec.hypervisor : 'qmp'];

  return {
    host,
    backendFor,
    backends,
    workstation,
    inputs: new SimulatedInputs(backendFor),
    config,
    injectFault: (spec) => workstation.faults.inject(spec),
    faults: () => workstation.faults.list(),
    clearFaults: (id) => workstation.faults.clear(id),
    releaseHangs: (outcome, only) => workstation.faults.releaseHangs(outcome, only),
    hangingCalls: () => workstation.faults.hangingCalls(),
    unwedge: (gpu) => host.unwedge(gpu),
    snapshot: () => workstation.snapshot(),
    assertConsistent: () => workstation.assertConsistent(),
  };
}
