// Reconciles the ownership registry with what the machine shows: the driver of each GPU function and
// the devices each running VM holds.
//
// The rule: reality wins where it is unambiguous, otherwise the registry's owner is kept and the
// conflict is reported.
// - Exactly one running VM holds functions of the GPU → that VM owns it (active).
// - No VM holds it, and its functions are on host drivers only → the host owns it.
// - No VM holds it, and its functions are on vfio-pci (or another stub driver) only → it is parked,
//   unless the registry assigns it to a configured VM that is shut off: then it stays that VM's (inactive).
// - Ambiguous, so the registry stands: two VMs hold functions; functions are split between host drivers
//   and vfio-pci; no function has a driver; the VM the registry names could not be asked or is in an
//   unknown state.
// Functions with no driver, or missing from the bus, do not decide anything on their own.
// A GPU with no record is taken to be the host's (where every GPU is at boot) when reality is ambiguous.
import type { PciAddress } from '../pci-address.js';
import type { VmState } from '../vm/port.js';
import { HOST, LOST, PARK, describeOwner, isUncertain, isVmOwner, type Owner, type OwnershipRecord, type OwnershipRegistry, type VmAssignmentState } from './registry.js';

/** Drivers that hold a function for passthrough and do nothing on the host's behalf. */
export const STUB_DRIVERS: ReadonlySet<string> = new Set(['vfio-pci', 'pci-stub', 'pciback', 'xen-pciback']);

export interface ConfiguredGpu {
  /** The GPU's name in the config. */
  name: string;
  /** Its functions as the inventory shows them, display function first. */
  functions: readonly PciAddress[];
}

export interface ObservedVm {
  name: string;
  state: VmState;
  /** What passthroughDevices returned; null when the backend could not be asked. */
  devices: readonly PciAddress[] | null;
}

export interface ReconcileInput {
  registry: OwnershipRegistry;
  gpus: readonly ConfiguredGpu[];
  /** Observed driver of each function present on the bus (null: no driver); absent: not on the bus. */
  drivers: ReadonlyMap<PciAddress, string | null>;
  /** Every configured VM. */
  vms: readonly ObservedVm[];
  /** Recorded as `since` when an owner changes. */
  now: string;
}

export type DisagreementKind =
  | 'vm-does-not-hold' // the registry names a VM that does not hold the GPU
  | 'vm-holds-unrecorded' // a VM holds functions of the GPU, the registry names another owner
  | 'host-driver-while-parked'
  | 'vfio-while-host'
  | 'unknown-vm' // the registry names a VM that is not configured
  | 'several-vms' // two or more VMs hold functions of one GPU
  | 'split-drivers' // functions split between host drivers and vfio-pci
  | 'partial-hold' // a VM holds only some functions of the GPU
  | 'no-driver'
  | 'function-missing'
  | 'vm-unreachable'
  | 'functions-changed'
  | 'unconfigured-gpu' // the registry has a record for a GPU the config no longer names
  | 'was-uncertain' // the registry had the GPU lost or wedged; the machine now shows its owner
  | 'still-uncertain' // lost or wedged, and the machine still does not show who has it
  | 'absent'; // a configured GPU is not on the PCI bus

export interface Disagreement {
  gpu: string;
  kind: DisagreementKind;
  /** A sentence a user can act on. */
  message: string;
}

export interface ReconciledGpu extends OwnershipRecord {
  gpu: string;
  /** observed: the machine decided; registry: reality was ambiguous and the registry's owner was kept. */
  basis: 'observed' | 'registry';
  /** The owner differs from the registry's. */
  changed: boolean;
}

export interface Reconciliation {
  gpus: ReconciledGpu[];
  /** The registry to save: reconciled records, plus untouched records of GPUs the config no longer names. */
  registry: OwnershipRegistry;
  disagreements: Disagreement[];
}

const LIVE_STATES: ReadonlySet<VmState> = new Set(['running', 'paused', 'starting', 'crashed']);

type DriverClass = 'stub' | 'host' | 'none' | 'missing';

function classify(driver: string | null | undefined): DriverClass {
  if (driver === undefined) return 'missing';
  if (driver === null) return 'none';
  return STUB_DRIVERS.has(driver) ? 'stub' : 'host';
}

const list = (items: readonly string[]) => items.join(', ');

interface Observation {
  owner: Owner;
  state?: VmAssignmentState;
}

function reconcileGpu(gpu: ConfiguredGpu, record: OwnershipRecord | undefined, input: ReconcileInput, say: (kind: DisagreementKind, message: string) => void): ReconciledGpu {
  const X = `GPU ${gpu.name}`;
  const recorded: Owner = record?.owner ?? HOST;
  const vmByName = new Map(input.vms.map((vm) => [vm.name, vm]));
  const isLive = (vm: ObservedVm | undefined) => vm !== undefined && LIVE_STATES.has(vm.state);
  const driverOf = (f: PciAddress) => input.drivers.get(f);
  const withDriver = (fns: readonly PciAddress[]) => list(fns.map((f) => `${f}: ${driverOf(f) ?? 'no driver'}`));
  const byClass = (c: DriverClass) => gpu.functions.filter((f) => classify(driverOf(f)) === c);
  const hostFns = byClass('host');
  const stubFns = byClass('stub');
  const missing = byClass('missing');

  if (record && list([...record.functions].sort()) !== list([...gpu.functions].sort())) {
    say('functions-changed', `The registry lists ${X} as ${list(record.functions)} but the machine shows ${list(gpu.functions)}; the registry is updated to the new functions.`);
  }
  for (const f of missing) say('function-missing', `Function ${f} of ${X} is not on the PCI bus; check that the card is seated and the config's address is right.`);

  const holders = new Map<string, PciAddress[]>();
  for (const vm of input.vms) {
    if (!isLive(vm) || vm.devices === null) continue;
    const held = gpu.functions.filter((f) => vm.devices!.includes(f));
    if (held.length) holders.set(vm.name, held);
  }
  const recordedVm = isVmOwner(recorded) ? vmByName.get(recorded) : undefined;

  let observed: Observation | null = null;
  let uncertain: string | null = null;
  if (holders.size > 1) {
    say('several-vms', `${X} is held by several VMs at once: ${[...holders].map(([vm, fns]) => `${vm} (${list(fns)})`).join('; ')}; remove it from all but one of them. Keeping the registry's owner, ${describeOwner(recorded)}.`);
  } else if (holders.size === 1) {
    const [vm, held] = [...holders][0]!;
    observed = { owner: vm, state: 'active' };
    const notHeld = gpu.functions.filter((f) => !held.includes(f));
    if (notHeld.length) say('partial-hold', `VM ${vm} holds only part of ${X} (${list(held)}), not ${withDriver(notHeld)}; move ${X} to ${vm} again, or away from it, so all its functions go together.`);
    if (recorded !== vm) {
      say('vm-holds-unrecorded', `VM ${vm} holds ${X} (${list(held)}) but the registry says ${describeOwner(recorded)}; Baton now counts ${vm} as the owner.`);
    }
  } else if (recordedVm && (recordedVm.state === 'unknown' || (isLive(recordedVm) && recordedVm.devices === null))) {
    say('vm-unreachable', `Could not tell whether VM ${recorded} (${recordedVm.state}) still holds ${X}; keeping the registry's owner. Check that its hypervisor is reachable.`);
  } else if (stubFns.length && input.vms.some((vm) => vm.devices === null || vm.state === 'unknown')) {
    // On the stub driver and held by no VM that answered: a VM that did not answer might hold it.
    const unreachable = input.vms.filter((vm) => vm.devices === null || vm.state === 'unknown').map((vm) => vm.name);
    const contradicted = recorded === HOST || (isVmOwner(recorded) && recordedVm !== undefined);
    say('vm-unreachable', `${X} is on vfio-pci and no VM that answered holds it, but ${list(unreachable)} could not be asked; ${contradicted ? `the registry's ${describeOwner(recorded)} is not right either, so Baton counts ${X} as lost until it can see` : `keeping the registry's owner, ${describeOwner(recorded)}`}. Check that the hypervisors are reachable.`);
    if (contradicted) uncertain = `no VM that answered holds it, ${list(unreachable)} could not be asked; ${withDriver(gpu.functions)}`;
  } else if (hostFns.length && stubFns.length) {
    say('split-drivers', `The functions of ${X} are split between host drivers (${withDriver(hostFns)}) and vfio-pci (${withDriver(stubFns)}); move ${X} to the host or park it so they agree. Keeping the registry's owner, ${describeOwner(recorded)}.`);
  } else if (hostFns.length) {
    observed = { owner: HOST };
    if (recorded === PARK) {
      const onDrivers = list(hostFns.map((f) => `${f} is on the host driver ${driverOf(f)}`));
      say('host-driver-while-parked', `The registry says ${X} is parked, but ${onDrivers}; Baton now counts ${X} as the host's. Park it again to put it back on vfio-pci.`);
    } else if (isVmOwner(recorded)) {
      say(recordedVm ? 'vm-does-not-hold' : 'unknown-vm', `The registry says ${X} belongs to VM ${recorded}, but ${recordedVm ? `${recorded} (${recordedVm.state}) does not hold it` : `${recorded} is not a configured VM`} and its functions are on host drivers (${withDriver(hostFns)}); Baton now counts ${X} as the host's.`);
    }
  } else if (stubFns.length) {
    if (recordedVm && !isLive(recordedVm)) {
      observed = { owner: recorded, state: 'inactive' };
    } else {
      observed = { owner: PARK };
      if (recorded === HOST && record) {
        say('vfio-while-host', `The registry says the host has ${X}, but its functions are on vfio-pci (${withDriver(stubFns)}) and no VM holds them; Baton now counts ${X} as parked. Move it to the host to give it back its drivers.`);
      } else if (isVmOwner(recorded)) {
        say(recordedVm ? 'vm-does-not-hold' : 'unknown-vm', `The registry says ${X} belongs to VM ${recorded}, but ${recordedVm ? `${recorded} is ${recordedVm.state} and does not hold it` : `${recorded} is not a configured VM`}; its functions are on vfio-pci, so Baton now counts ${X} as parked. Move it to ${recordedVm ? recorded : 'a VM or the host'} to use it.`);
      }
    }
  } else if (missing.length < gpu.functions.length) {
    say('no-driver', `No function of ${X} has a driver (${list(gpu.functions)}), so who has it cannot be seen; keeping the registry's owner, ${describeOwner(recorded)}. Move it to the host or park it to bind a driver.`);
  }

  if (record && isUncertain(recorded)) {
    if (observed) say('was-uncertain', `${X} was recorded ${recorded} (${record.reason ?? 'no reason recorded'}); the machine now shows ${describeOwner(observed.owner)}, and Baton counts that.`);
    else say('still-uncertain', `${X} is ${recorded}: ${record.reason ?? 'no reason recorded'}; the machine still does not show who has it, so requests for it are refused. Check its VMs and drivers, then reconcile again.`);
  }
  const kept: Observation = { owner: recorded, ...(isVmOwner(recorded) && { state: isLive(recordedVm) ? 'active' : 'inactive' }) };
  const lost: Observation | null = uncertain === null ? null : { owner: LOST };
  const result = observed ?? lost ?? kept;
  const reason = uncertain !== null ? { reason: uncertain } : !observed && record?.reason !== undefined && isUncertain(recorded) ? { reason: record.reason } : {};
  const changed = record !== undefined && result.owner !== record.owner;
  return {
    gpu: gpu.name,
    owner: result.owner,
    functions: [...gpu.functions],
    since: record && !changed ? record.since : input.now,
    ...(result.state && { state: result.state }),
    ...reason,
    basis: observed || lost ? 'observed' : 'registry',
    changed,
  };
}

export function reconcileOwnership(input: ReconcileInput): Reconciliation {
  const disagreements: Disagreement[] = [];
  const gpus = input.gpus.map((gpu) =>
    reconcileGpu(gpu, input.registry.gpus[gpu.name], input, (kind, message) => disagreements.push({ gpu: gpu.name, kind, message })),
  );
  const registry: OwnershipRegistry = { version: 1, gpus: {} };
  const configured = new Set(input.gpus.map((g) => g.name));
  for (const [name, record] of Object.entries(input.registry.gpus)) {
    if (configured.has(name)) continue;
    registry.gpus[name] = record;
    disagreements.push({ gpu: name, kind: 'unconfigured-gpu', message: `The registry has a record for GPU ${name} (${describeOwner(record.owner)}), which the config no longer names; add it back to the config, or ignore this if the card is gone.` });
  }
  for (const g of gpus) {
    registry.gpus[g.gpu] = { owner: g.owner, functions: g.functions, since: g.since, ...(g.state && { state: g.state }), ...(g.reason !== undefined && { reason: g.reason }) };
  }
  return { gpus, registry, disagreements };
}

/** Observed drivers from the inventory's functions, in the shape reconcileOwnership takes. */
export function driversOf(functions: readonly { address: PciAddress; driver: string | null }[]): Map<PciAddress, string | null> {
  return new Map(functions.map((f) => [f.address, f.driver]));
}
