// Reads every PCI function from a sysfs tree. A missing, unreadable or garbage file becomes a
// problem entry on that device; nothing here throws.
import { isCanonicalPciAddress, type PciAddress } from '../../domain/pci-address.js';
import type { MdevType, PciFunction } from '../../domain/inventory/model.js';
import { readDeviceSerial } from '../../domain/inventory/serial.js';
import type { PciIds } from '../pci-ids.js';
import type { DeviceLockGuard } from './device-locks.js';
import type { Sysfs } from './sysfs.js';

const PCI_ADDRESS_IN_PATH = /[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]/g;
const KNOWN_RESET_METHODS = new Set(['device_specific', 'acpi', 'flr', 'af_flr', 'pm', 'bus', 'cxl_bus']);

export function listPciAddresses(sysfs: Sysfs, problems: string[]): PciAddress[] {
  const entries = sysfs.list('bus/pci/devices');
  if (entries.length === 0 && !sysfs.exists('bus/pci/devices')) problems.push(`${sysfs.path('bus/pci/devices')} is missing: no PCI bus in this sysfs tree`);
  const out: PciAddress[] = [];
  for (const name of entries) {
    if (isCanonicalPciAddress(name)) out.push(name);
    else problems.push(`bus/pci/devices/${name}: not a PCI address, ignored`);
  }
  return out;
}

/** `locks`: where the helper's kernel lanes run, so attributes a running kernel call may hold the lock of are not read. */
export function readPciFunction(sysfs: Sysfs, address: PciAddress, ids: PciIds | null, locks?: DeviceLockGuard): PciFunction {
  const dir = `bus/pci/devices/${address}`;
  const problems: string[] = [];
  if (!sysfs.resolves(dir)) problems.push(`its sysfs entry ${dir} is a dangling link`);

  const hexAttr = (name: string, digits: number): string | null => {
    const r = sysfs.read(`${dir}/${name}`);
    if (!r.ok) {
      problems.push(`${name}: cannot read (${r.reason})`);
      return null;
    }
    const m = new RegExp(`^0x([0-9a-fA-F]{${digits}})$`).exec(r.value);
    if (!m?.[1]) {
      problems.push(`${name}: ${JSON.stringify(r.value.slice(0, 40))} is not a ${digits}-digit hex value`);
      return null;
    }
    return m[1].toLowerCase();
  };

  const cls = hexAttr('class', 6);
  const vendor = hexAttr('vendor', 4);
  const device = hexAttr('device', 4);
  const subsystemVendor = hexAttr('subsystem_vendor', 4);
  const subsystemDevice = hexAttr('subsystem_device', 4);
  const revision = hexAttr('revision', 2);

  const driver = readLinkName(sysfs, `${dir}/driver`, 'driver', problems);
  const readOverride = () => sysfs.text(`${dir}/driver_override`);
  const readConfig = () => sysfs.bytes(`${dir}/config`);
  const override = locks ? locks.read(address, 'driver_override', readOverride, problems) : readOverride();
  const iommuGroup = readIommuGroup(sysfs, dir, problems);
  const config = locks ? locks.read(address, 'config', readConfig, problems) : readConfig();
  const isBridge = bridgeByConfig(config) ?? (cls !== null && /^06(00|04|09)/.test(cls));

  return {
    address,
    class: cls === null ? null : `0x${cls}`,
    vendor,
    device,
    subsystemVendor,
    subsystemDevice,
    revision,
    vendorName: vendor ? (ids?.vendorName(vendor) ?? null) : null,
    deviceName: vendor && device ? (ids?.deviceName(vendor, device) ?? null) : null,
    driver,
    driverOverride: override && override !== '(null)' ? override : null,
    iommuGroup,
    resetMethods: readResetMethods(sysfs, dir, problems),
    bootVga: readBootVga(sysfs, dir, problems),
    romPresent: sysfs.exists(`${dir}/rom`),
    isBridge,
    parentBridge: parentBridgeOf(sysfs.linkTarget(dir), address),
    mdevTypes: readMdevTypes(sysfs, dir),
    problems,
    serial: readDeviceSerial(config),
  };
}

function readLinkName(sysfs: Sysfs, rel: string, what: string, problems: string[]): string | null {
  if (!sysfs.exists(rel)) return null;
  const name = sysfs.linkName(rel);
  if (name === undefined) {
    problems.push(`${what}: not a symbolic link`);
    return null;
  }
  if (!sysfs.resolves(rel)) problems.push(`${what}: link to ${name} dangles`);
  return name;
}

function readIommuGroup(sysfs: Sysfs, dir: string, problems: string[]): number | null {
  const rel = `${dir}/iommu_group`;
  if (!sysfs.exists(rel)) return null;
  const name = readLinkName(sysfs, rel, 'iommu_group', problems);
  if (name === null) return null;
  if (!/^\d+$/.test(name)) {
    problems.push(`iommu_group: link to ${JSON.stringify(name)} is not a group number`);
    return null;
  }
  return Number(name);
}

function readResetMethods(sysfs: Sysfs, dir: string, problems: string[]): string[] {
  const r = sysfs.read(`${dir}/reset_method`);
  if (!r.ok) {
    // Kernels before 5.15 have no reset_method; a `reset` file alone still means "some method".
    return sysfs.exists(`${dir}/reset`) ? ['unknown'] : [];
  }
  const methods = r.value.split(/\s+/).filter(Boolean);
  const unknown = methods.filter((m) => !KNOWN_RESET_METHODS.has(m));
  if (unknown.length) problems.push(`reset_method: unknown method(s) ${unknown.join(', ')}`);
  return methods.filter((m) => KNOWN_RESET_METHODS.has(m));
}

function readBootVga(sysfs: Sysfs, dir: string, problems: string[]): boolean {
  const r = sysfs.read(`${dir}/boot_vga`);
  if (!r.ok) return false; // only display-class functions have it
  if (r.value !== '0' && r.value !== '1') {
    problems.push(`boot_vga: ${JSON.stringify(r.value.slice(0, 20))} is not 0 or 1`);
    return false;
  }
  return r.value === '1';
}

/** Header type (config byte 0x0e, low 7 bits): 1 = PCI-to-PCI bridge, 2 = CardBus bridge. */
function bridgeByConfig(config: Buffer | undefined): boolean | null {
  if (!config || config.length < 0x0f) return null;
  const type = (config[0x0e] ?? 0) & 0x7f;
  return type === 1 || type === 2;
}

/** The bridge above a device, from its devices/ path: …/0000:00:1c.0/0000:01:00.0 → 0000:00:1c.0. */
export function parentBridgeOf(linkTarget: string | undefined, address: PciAddress): PciAddress | null {
  if (!linkTarget) return null;
  const chain: string[] = linkTarget.match(PCI_ADDRESS_IN_PATH) ?? [];
  const index = chain.lastIndexOf(address);
  const parent = index > 0 ? chain[index - 1] : undefined;
  return parent && isCanonicalPciAddress(parent) ? parent : null;
}

function readMdevTypes(sysfs: Sysfs, dir: string): MdevType[] {
  return sysfs.list(`${dir}/mdev_supported_types`).map((id) => {
    const base = `${dir}/mdev_supported_types/${id}`;
    const available = sysfs.text(`${base}/available_instances`);
    return {
      id,
      name: sysfs.text(`${base}/name`) ?? null,
      availableInstances: available !== undefined && /^\d+$/.test(available) ? Number(available) : null,
      deviceApi: sysfs.text(`${base}/device_api`) ?? null,
    };
  });
}
