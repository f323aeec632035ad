// The simulated workstation as data: the KVM lab's "workstation" shape (test/lab/lib/topology.ts,
// captured in test/fixtures/sysfs/workstation.tar.gz), minus the lab's virtio-9p plumbing.
import type { PciAddress } from '../../domain/pci-address.js';
import type { Hypervisor } from '../../domain/vm/errors.js';
import type { GuestSlot, VmState } from '../../domain/vm/port.js';

export interface FunctionSpec {
  address: PciAddress;
  class: string;
  vendor: string;
  device: string;
  subsystem: string;
  revision: string;
  vendorName: string | null;
  deviceName: string | null;
  /** The host driver the kernel binds at boot; null: none. */
  driver: string | null;
  iommuGroup: number;
  resetMethods: string[];
  bootVga?: boolean;
  romPresent?: boolean;
  isBridge?: boolean;
  parentBridge?: PciAddress;
}

export interface ConnectorSpec {
  connector: string;
  /** The display function the connector belongs to; it exists only while that function has a DRM driver. */
  gpu: PciAddress;
  enabled: boolean;
  mode: { width: number; height: number; refreshHz: number };
}

export interface VmSpec {
  name: string;
  hypervisor: Hypervisor;
  state: Extract<VmState, 'running' | 'paused' | 'shut-off'>;
  /** Where a GPU lands in the guest unless a request names a slot. */
  guestSlot: GuestSlot;
  /** The guest acknowledges hot-unplug requests (a guest with the GPU busy may not). */
  releasesDevices?: boolean;
  /** The guest powers off on an ACPI power-button request. */
  powersOff?: boolean;
}

export interface MachineSpec {
  functions: FunctionSpec[];
  connectors: ConnectorSpec[];
  vms: VmSpec[];
}

const a = (text: string) => text as PciAddress;
const INTEL = 'Intel Corporation';
const REDHAT = 'Red Hat, Inc.';
const QEMU_SUBSYSTEM = '1af4:1100';

function rootPort(address: string, group: number): FunctionSpec {
  return {
    address: a(address), class: '0x060400', vendor: '1b36', device: '000c', subsystem: '1b36:0000', revision: '00',
    vendorName: REDHAT, deviceName: 'QEMU PCIe Root port', driver: 'pcieport', iommuGroup: group, resetMethods: [], isBridge: true,
  };
}

function hda(address: string, group: number, parent: string): FunctionSpec {
  return {
    address: a(address), class: '0x040300', vendor: '8086', device: '293e', subsystem: QEMU_SUBSYSTEM, revision: '03',
    vendorName: INTEL, deviceName: '82801I (ICH9 Family) HD Audio Controller', driver: 'snd_hda_intel', iommuGroup: group,
    resetMethods: [], parentBridge: a(parent),
  };
}

function bochs(address: string, cls: string, group: number, parent: string | undefined, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    address: a(address), class: cls, vendor: '1234', device: '1111', subsystem: QEMU_SUBSYSTEM, revision: '02',
    vendorName: null, deviceName: null, driver: 'bochs-drm', iommuGroup: group, resetMethods: parent ? ['bus'] : [], romPresent: true,
    ...(parent ? { parentBridge: a(parent) } : {}), ...extra,
  };
}

function ich9(address: string, device: string, cls: string, deviceName: string): FunctionSpec {
  return {
    address: a(address), class: cls, vendor: '8086', device, subsystem: QEMU_SUBSYSTEM, revision: '02',
    vendorName: INTEL, deviceName, driver: null, iommuGroup: 7, resetMethods: [],
  };
}

/** The lab workstation: boot VGA, GPU A (VGA + HDA, group 8), GPU B (bochs-display + HDA, group 9), a NIC. */
export const WORKSTATION: MachineSpec = {
  functions: [
    {
      address: a('0000:00:00.0'), class: '0x060000', vendor: '8086', device: '29c0', subsystem: QEMU_SUBSYSTEM, revision: '00',
      vendorName: INTEL, deviceName: '82G33/G31/P35/P31 Express DRAM Controller', driver: null, iommuGroup: 0, resetMethods: [],
    },
    bochs('0000:00:01.0', '0x030000', 1, undefined, { bootVga: true }),
    rootPort('0000:00:02.0', 2),
    rootPort('0000:00:03.0', 3),
    rootPort('0000:00:04.0', 4),
    ich9('0000:00:1f.0', '2918', '0x060100', '82801IB (ICH9) LPC Interface Controller'),
    ich9('0000:00:1f.2', '2922', '0x010601', '82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]'),
    ich9('0000:00:1f.3', '2930', '0x0c0500', '82801I (ICH9 Family) SMBus Controller'),
    bochs('0000:01:00.0', '0x030000', 8, '0000:00:02.0'),
    hda('0000:01:00.1', 8, '0000:00:02.0'),
    bochs('0000:02:00.0', '0x038000', 9, '0000:00:03.0'),
    hda('0000:02:00.1', 9, '0000:00:03.0'),
    {
      address: a('0000:03:00.0'), class: '0x020000', vendor: '8086', device: '10d3', subsystem: '8086:0000', revision: '00',
      vendorName: INTEL, deviceName: '82574L Gigabit Network Connection', driver: 'e1000e', iommuGroup: 10,
      resetMethods: ['pm', 'bus'], romPresent: true, parentBridge: a('0000:00:04.0'),
    },
  ],
  connectors: [
    { connector: 'card0-Virtual-1', gpu: a('0000:00:01.0'), enabled: true, mode: { width: 1024, height: 768, refreshHz: 74.99 } },
    { connector: 'card1-Virtual-2', gpu: a('0000:01:00.0'), enabled: false, mode: { width: 1920, height: 1080, refreshHz: 75 } },
    { connector: 'card2-Virtual-3', gpu: a('0000:02:00.0'), enabled: false, mode: { width: 2560, height: 1440, refreshHz: 75 } },
  ],
  vms: [
    { name: 'win11', hypervisor: 'qmp', state: 'running', guestSlot: { bus: 'rp1', slot: 0 } },
    { name: 'linux-dev', hypervisor: 'libvirt', state: 'running', guestSlot: { bus: 'pci.7', slot: 0 } },
    { name: 'vm-xen', hypervisor: 'xen', state: 'shut-off', guestSlot: { bus: 'pci.0', slot: 5 } },
  ],
};

export const GPU_A = a('0000:01:00.0');
export const GPU_B = a('0000:02:00.0');
