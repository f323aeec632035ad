// Builds the helper's service from a config: on the real machine (kernel + hypervisors), or on the
// simulated workstation (same engine, same stores, in-memory ports).
import { dirname, join } from 'node:path';
import type { BatonConfig, VmConfig } from '../domain/config/index.js';
import type { BackendFor } from '../domain/switch/ports.js';
import type { VmBackend } from '../domain/vm/port.js';
import { LibvirtBackend } from '../backends/libvirt/index.js';
import { QmpBackend } from '../backends/qmp/index.js';
import { XenBackend } from '../backends/xen/index.js';
import { handoffContext } from '../host/handoff/context.js';
import { ChildKernelWriter } from '../host/kernel/kernel-writer.js';
import { RomStore } from '../host/rom/store.js';
import { checkProgramPath, describeProblem } from '../host/trust/paths.js';
import { RealHost } from './adapters/real-host.js';
import { XenHost } from './adapters/xen-host.js';
import { InputFollower } from './adapters/input-follower.js';
import { createInputRelay } from '../host/input/relay.js';
import { readInventory } from '../host/inventory.js';
import { JournalBook } from './engine/journal.js';
import { RegistryOwnerBook } from './engine/owner-book.js';
import { HelperService } from './engine/service.js';
import { createSimulatedWorkstation, type SimulatedWorkstation } from './simulate/index.js';
import { HistoryStore } from './store/history-store.js';
import { OwnershipStore } from './store/ownership-store.js';

type XenVm = Extract<VmConfig, { backend: 'xen' }>;
export type XenBackendFactory = (vms: XenVm[]) => VmBackend;

/** The real Xen backend (xl and xenstore on dom0's PATH). */
export const realXenBackend: XenBackendFactory = (vms) =>
  new XenBackend({ vms: vms.map((v) => ({ name: v.name, domain: v.domain ?? v.name, ...(v.configFile ? { configFile: v.configFile } : {}), ...(v.guestSlot ? { gpuSlot: v.guestSlot.addr } : {}) })), fileProblems: programProblems });

/** Programs and files the config makes root run: root-owned, not writable by others, folders up to / too. */
function programProblems(path: string): string[] {
  return checkProgramPath(path).map(describeProblem);
}

function slotOf(vm: VmConfig) {
  return vm.guestSlot?.bus ? { gpuSlot: { bus: vm.guestSlot.bus, slot: vm.guestSlot.addr } } : {};
}

/** One backend per hypervisor kind, each serving the configured VMs of its kind. */
export function backendsFromConfig(config: BatonConfig, xen: XenBackendFactory | undefined = realXenBackend): BackendFor {
  const qmpVms = config.vms.filter((v): v is Extract<VmConfig, { backend: 'qmp' }> => v.backend === 'qmp');
  const libvirtVms = config.vms.filter((v): v is Extract<VmConfig, { backend: 'libvirt' }> => v.backend === 'libvirt');
  const xenVms = config.vms.filter((v): v is XenVm => v.backend === 'xen');
  const qmp = new QmpBackend({
    vms: qmpVms.map((v) => ({ name: v.name, socketPath: v.socket, ...(v.start ? { argv: v.start.argv } : {}), ...(v.start?.cwd ? { cwd: v.start.cwd } : {}), ...slotOf(v) })),
    programProblems,
  });
  const libvirt = new LibvirtBackend({ vms: libvirtVms.map((v) => ({ name: v.name, uri: v.uri, domain: v.domain ?? v.name, ...slotOf(v) })) });
  if (xenVms.length && !xen) throw new Error(`VMs ${xenVms.map((v) => v.name).join(', ')} use the Xen backend, which this build does not include`);
  const xenBackend = xenVms.length && xen ? xen(xenVms) : null;
  const byVm = new Map<string, VmBackend>(config.vms.map((v) => [v.name, v.backend === 'qmp' ? qmp : v.backend === 'libvirt' ? libvirt : xenBackend!]));
  // Names outside the config never reach here (the service refuses them); QMP answers "not found" anyway.
  return (vm) => byVm.get(vm) ?? qmp;
}

/** The helper's state files: per-GPU journals, the ownership registry, the history. */
export function helperStores(config: BatonConfig) {
  const stateDir = dirname(config.helper.journal);
  return {
    // <stateDir>/journal/<gpu>.json; the single journal file of earlier versions is read once.
    journals: new JournalBook(join(stateDir, 'journal'), config.gpus.map((g) => g.name), config.helper.journal),
    owners: new RegistryOwnerBook(new OwnershipStore(join(stateDir, 'ownership.json'))),
    history: HistoryStore.open(config.helper.history.file, { maxEntries: config.helper.history.maxEntries }),
  };
}

/**
 * Start-up: recovers every interrupted switch, then reconciles the registry with the machine. Never
 * throws: what it could not recover is logged and shown in `status` (recoveryProblems).
 */
export async function startService(service: HelperService, log: (line: string) => void = (line) => void process.stderr.write(`baton helper: ${line}\n`)): Promise<HelperService> {
  const recovery = await service.recover();
  for (const problem of recovery.problems) log(`could not recover: ${problem}`);
  for (const r of recovery.results) log(`recovered switch ${r.switchId}: ${r.outcome}, ${r.owner} has the GPU${r.error ? ` (${r.error})` : ''}`);
  try {
    for (const d of await service.reconcile()) log(d);
  } catch (err) {
    log(`reconciling at start failed: ${(err as Error).message}`);
  }
  return service;
}

export async function realService(config: BatonConfig, xen: XenBackendFactory = realXenBackend): Promise<HelperService> {
  const writer = new ChildKernelWriter();
  const ctx = handoffContext({ stateDir: dirname(config.helper.journal), writer });
  const roms = new RomStore(config.helper.vbiosStore);
  // In a Xen dom0 the GPU waits on pciback and xl binds it; elsewhere Baton binds vfio-pci itself.
  const inventory = readInventory({ sysfsRoot: ctx.sysfs.root, pciIds: null, deviceLocks: ctx.deviceLocks });
  const host = inventory.vfio.xenDom0 ? new XenHost(ctx, roms) : new RealHost(ctx, roms);
  const backendFor = backendsFromConfig(config, xen);
  const log = (line: string) => void process.stderr.write(`baton helper: ${line}\n`);
  // Keyboards and mice follow GPUs only when the config names some (no relay, no uinput otherwise).
  const inputs = config.inputs.devices.length ? new InputFollower({ config, relay: createInputRelay(), backendFor, log }) : undefined;
  return startService(new HelperService({ config, host, backendFor, ...helperStores(config), ...(inputs ? { inputs } : {}) }));
}

/**
 * The simulated workstation behind the real engine; its state lives as long as the process. A test
 * may hand in the workstation it holds, to plant faults in it.
 */
export async function simulatedService(config: BatonConfig, speed = 1, sim: SimulatedWorkstation = createSimulatedWorkstation({ speed, stateDir: dirname(config.helper.journal) })): Promise<HelperService> {
  return startService(new HelperService({ config, host: sim.host, backendFor: sim.backendFor, inputs: sim.inputs, ...helperStores(config) }));
}
