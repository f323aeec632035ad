// What Baton knows of the workstation: PCI functions, IOMMU groups, GPUs and their monitors.
import type { PciAddress } from '../pci-address.js';
import type { DeviceSerial } from './serial.js';

export interface PciFunction {
  address: PciAddress;
  /** "0x030000"; null when the class file is missing or garbage (see problems). */
  class: string | null;
  vendor: string | null;
  device: string | null;
  subsystemVendor: string | null;
  subsystemDevice: string | null;
  revision: string | null;
  vendorName: string | null;
  deviceName: string | null;
  driver: string | null;
  driverOverride: string | null;
  iommuGroup: number | null;
  /** The kernel's reset methods ("flr", "bus", ...); empty when it has none. */
  resetMethods: string[];
  bootVga: boolean;
  romPresent: boolean;
  /** PCI-to-PCI or host bridge (bridges need no binding and are never group peers). */
  isBridge: boolean;
  /** The bridge this function sits behind; null on a root bus. */
  parentBridge: PciAddress | null;
  mdevTypes: MdevType[];
  problems: string[];
  /** The PCIe Device Serial Number; absent where nothing read it (the simulated workstation). */
  serial?: DeviceSerial;
}

export interface MdevType {
  id: string;
  name: string | null;
  availableInstances: number | null;
  deviceApi: string | null;
}

export interface Edid {
  manufacturerId: string;
  productCode: number;
  serialNumber: number;
  /** From the 0xFC display descriptor. */
  monitorName: string | null;
  /** From the 0xFF display descriptor. */
  serialText: string | null;
  manufactureYear: number | null;
  version: string;
  preferredMode: { width: number; height: number; refreshHz: number } | null;
  checksumValid: boolean;
  extensionCount: number;
}

export interface DrmConnector {
  /** "card1-DP-1" */
  connector: string;
  card: string;
  pciAddress: PciAddress;
  status: string | null;
  enabled: boolean | null;
  modes: string[];
  edid: Edid | null;
  problems: string[];
}

export interface VfioAvailability {
  /** vfio-pci is loaded (its driver is registered on the PCI bus). */
  vfioPciLoaded: boolean;
  /** /dev/vfio exists; null when not known (a --sysfs tree has no /dev). */
  devVfio: boolean | null;
  /** The IOMMU is on: the kernel formed IOMMU groups. */
  iommuEnabled: boolean;
  /** vfio-pci could be loaded: true/false when the running kernel's modules were checked, else null. */
  vfioPciLoadable: boolean | null;
  /** This kernel is a Xen dom0: Xen owns the IOMMU (dom0 sees no groups) and pciback is the stub driver. */
  xenDom0: boolean;
}

export interface HostSnapshot {
  functions: PciFunction[];
  /** IOMMU group number → member addresses, as /sys/kernel/iommu_groups lists them. */
  groups: Map<number, PciAddress[]>;
  connectors: DrmConnector[];
  vfio: VfioAvailability;
  /** Problems not tied to one device (unreadable folders, entries that are not PCI addresses). */
  problems: string[];
}

export type ReasonCode =
  | 'boot-vga'
  | 'no-iommu'
  | 'no-iommu-group'
  | 'peer-bound-to-host-driver'
  | 'no-reset-method'
  | 'bus-reset-only'
  | 'vfio-unavailable'
  | 'vfio-not-loaded'
  | 'xen-iommu'
  | 'unreadable';

export interface Reason {
  code: ReasonCode;
  /** A blocker makes the GPU not assignable; a warning is worth knowing. */
  severity: 'blocker' | 'warning';
  message: string;
}

export interface FunctionSummary {
  address: PciAddress;
  class: string | null;
  driver: string | null;
  vendor: string | null;
  device: string | null;
  name: string | null;
}

export interface Monitor {
  connector: string;
  status: string | null;
  enabled: boolean | null;
  /** The monitor's own name from its EDID; null when it has none. */
  name: string | null;
  manufacturerId: string | null;
  productCode: number | null;
  serialNumber: number | null;
  /** The EDID's serial text (0xFF descriptor), which most monitors print on their label. */
  serialText: string | null;
  preferredMode: string | null;
  /** preferredMode as numbers. */
  mode: { width: number; height: number; refreshHz: number } | null;
}

export interface Gpu {
  /** The display function (function 0 on every real card). */
  address: PciAddress;
  class: string | null;
  vendor: string | null;
  device: string | null;
  subsystem: string | null;
  name: string | null;
  iommuGroup: number | null;
  bootVga: boolean;
  driver: string | null;
  /** The GPU's own display function first, then every companion in the slot. */
  functions: FunctionSummary[];
  groupPeers: FunctionSummary[];
  bridges: FunctionSummary[];
  resetMethods: string[];
  romPresent: boolean;
  /** The bridge above the GPU (its slot's root port); null on a root bus. */
  parentBridge: PciAddress | null;
  assignable: boolean;
  reasons: Reason[];
  /** Every blocker and every tree problem affecting this GPU, as sentences. */
  problems: string[];
  monitors: Monitor[];
  mdevTypes: MdevType[];
  /** The display function's PCIe Device Serial Number (what match.serial compares). */
  serial?: DeviceSerial;
}

export interface Inventory {
  gpus: Gpu[];
  functions: PciFunction[];
  iommuGroups: { group: number; devices: PciAddress[] }[];
  vfio: VfioAvailability;
  problems: string[];
}
