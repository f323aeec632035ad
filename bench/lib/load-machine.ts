// A bigger simulated workstation for the load bench, built from the simulator's own parts
// (MachineSpec, Workstation, SimulatedHost, SimulatedVmBackend) without changing the simulator:
// GPUs of two functions (VGA + HDA) each behind its own root port and in its own IOMMU group, and
// VMs spread over the three hypervisors, all running, each with a free slot per GPU.
import type { MachineSpec, FunctionSpec, VmSpec } from '../../app/helper/simulate/machine.js';
import type { PciAddress } from '../../app/domain/pci-address.js';
import type { Hypervisor } from '../../app/domain/vm/errors.js';

const a = (text: string) => text as PciAddress;
const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const QEMU_SUBSYSTEM = '1af4:1100';

function fn(address: string, cls: string, vendor: string, device: string, driver: string | null, group: number, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return { address: a(address), class: cls, vendor, device, subsystem: QEMU_SUBSYSTEM, revision: '02', vendorName: null, deviceName: null, driver, iommuGroup: group, resetMethods: [], ...extra };
}

export interface LoadShape {
  gpus: number;
  vms: number;
}

export function gpuAddress(i: number): PciAddress {
  return a(`0000:${hex2(0x10 + i)}:00.0`);
}

export function vmName(i: number): string {
  return `vm-${String(i).padStart(2, '0')}`;
}

function hypervisorOf(i: number): Hypervisor {
  return (['qmp', 'libvirt', 'xen'] as const)[i % 3]!;
}

export function loadMachine(shape: LoadShape): MachineSpec {
  const functions: FunctionSpec[] = [
    fn('0000:00:00.0', '0x060000', '8086', '29c0', null, 0),
    fn('0000:00:01.0', '0x030000', '1234', '1111', 'bochs-drm', 1, { bootVga: true, romPresent: true }),
  ];
  for (let i = 0; i < shape.gpus; i++) {
    const port = `0000:00:${hex2(0x02 + i)}.0`;
    const group = 10 + i;
    const bus = hex2(0x10 + i);
    functions.push(fn(port, '0x060400', '1b36', '000c', 'pcieport', 100 + i, { isBridge: true }));
    functions.push(fn(`0000:${bus}:00.0`, '0x030000', '1234', '1111', 'bochs-drm', group, { resetMethods: ['bus'], romPresent: true, parentBridge: a(port) }));
    functions.push(fn(`0000:${bus}:00.1`, '0x040300', '8086', '293e', 'snd_hda_intel', group, { parentBridge: a(port) }));
  }
  const vms: VmSpec[] = Array.from({ length: shape.vms }, (_, i) => ({ name: vmName(i), hypervisor: hypervisorOf(i), state: 'running', guestSlot: { bus: 'rp1', slot: 0 } }));
  return { functions, connectors: [], vms };
}

/** The baton.yaml naming every GPU and VM of the machine; each GPU has its own guest slot bus. */
export function loadConfigYaml(shape: LoadShape, stateDir: string): string {
  const gpus = Array.from({ length: shape.gpus }, (_, i) => `  - { name: gpu-${i}, match: { address: "${gpuAddress(i)}" }, reset: auto }`);
  const vms = Array.from({ length: shape.vms }, (_, i) => {
    const name = vmName(i);
    switch (hypervisorOf(i)) {
      case 'qmp': return `  - { name: ${name}, backend: qmp, socket: /run/baton/sim/${name}.qmp, guestSlot: { bus: rp1, addr: 0 } }`;
      case 'libvirt': return `  - { name: ${name}, backend: libvirt, uri: "qemu:///system", guestSlot: { bus: pci.7, addr: 0 } }`;
      default: return `  - { name: ${name}, backend: xen, release: force-detach }`;
    }
  });
  return `version: 1
helper:
  socket: ${stateDir}/helper.sock
  vbiosStore: ${stateDir}/vbios
  journal: ${stateDir}/journal.json
  history: { file: ${stateDir}/history.jsonl, maxEntries: 0 }
gpus:
${gpus.join('\n')}
vms:
${vms.join('\n')}
`;
}
