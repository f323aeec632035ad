// Reads a PCI function's option ROM through sysfs: enable (write "1"), read, and always disable (write "0").
import { parsePciAddress, type PciAddress } from '../../domain/pci-address.js';
import type { DeviceIds } from '../../domain/vbios/types.js';
import { Sysfs } from '../sysfs/sysfs.js';
import { RomError, errnoOf } from './errors.js';
import { MAX_ROM_BYTES, readBounded, realFs, type RomFs } from './files.js';

export interface CaptureOptions {
  /** A folder laid out like /sys (tests, captures); default /sys. */
  sysfsRoot?: string;
  fs?: RomFs;
  maxBytes?: number;
}

export interface CapturedRom {
  address: PciAddress;
  bytes: Uint8Array;
  ids: DeviceIds;
  bootVga: boolean;
  /** The kernel returned the shadow copy at 0xC0000 (boot VGA), which POST may have modified. */
  shadow: boolean;
  /** Notes for the user: shadow copy, a failed disable. */
  notes: string[];
}

export const SHADOW_NOTE = 'boot VGA device: the kernel returns the shadow copy at 0xC0000, which POST may have modified; prefer a ROM read while another GPU is the boot device, or the vendor file';

export function captureRom(addressText: string, options: CaptureOptions = {}): CapturedRom {
  const address = parsePciAddress(addressText);
  if (!address) throw new RomError(`not a PCI address: "${addressText}"`, ['expected e.g. 0000:01:00.0 or 01:00.0']);
  const sysfs = new Sysfs(options.sysfsRoot ?? '/sys');
  const dev = `bus/pci/devices/${address}`;
  if (!sysfs.exists(dev)) throw new RomError(`no PCI device at ${address}`, [`${sysfs.path(dev)} does not exist`]);
  const ids = readIds(sysfs, dev, address);
  const bootVga = sysfs.text(`${dev}/boot_vga`) === '1';
  if (!sysfs.exists(`${dev}/rom`)) throw noRomBar(address);

  const bytes = readRomToggled(sysfs.path(`${dev}/rom`), address, options);
  const notes = bootVga ? [SHADOW_NOTE] : [];
  if (bytes.disableFailure) notes.push(`could not disable the ROM of ${address} again (${bytes.disableFailure}); write 0 to its rom file`);
  return { address, bytes: bytes.data, ids, bootVga, shadow: bootVga, notes };
}

/** The enable/read/disable sequence. The "0" is written whatever happened to the enable or the read. */
function readRomToggled(path: string, address: PciAddress, options: CaptureOptions): { data: Uint8Array; disableFailure?: string } {
  const fs = options.fs ?? realFs;
  const max = options.maxBytes ?? MAX_ROM_BYTES;
  let stage: 'enable' | 'read' = 'enable';
  let data: Uint8Array | undefined;
  let failure: RomError | undefined;
  let disableFailure: string | undefined;
  try {
    fs.writeFileSync(path, '1');
    stage = 'read';
    data = readBounded(path, max, fs).bytes;
  } catch (err) {
    failure = mapError(err, stage, address);
  } finally {
    try {
      fs.writeFileSync(path, '0');
    } catch (err) {
      disableFailure = errnoOf(err) ?? String(err);
    }
  }
  if (failure) {
    if (disableFailure) failure.details.push(`also could not disable the ROM again (${disableFailure}): write 0 to ${path}`);
    throw failure;
  }
  if (!data || data.length === 0) throw new RomError(`the kernel returned an empty ROM for ${address}`, ['the ROM BAR may be disabled by the bound driver']);
  return { data, disableFailure };
}

function mapError(err: unknown, stage: 'enable' | 'read', address: PciAddress): RomError {
  const code = errnoOf(err);
  if (code === 'ENOENT') return noRomBar(address);
  if (code === 'EACCES' || code === 'EPERM') return new RomError(`permission denied on the ROM of ${address}: run as root`, [], code);
  if (stage === 'read' && code === 'EINVAL') {
    return new RomError(`the kernel refused to read the ROM of ${address} (EINVAL): the ROM is not enabled or the device has no ROM`, [], code);
  }
  if (stage === 'read' && code === 'EIO') {
    return new RomError(`the kernel could not read the ROM of ${address} (EIO): the ROM BAR could not be mapped or its header is invalid`, [
      'the bound driver may have disabled the ROM BAR: unbind it, or bind vfio-pci, and retry',
      'the device may be in a low-power state: write "on" to its power/control and retry',
      'some GPUs expose no usable ROM through the BAR: use the vendor ROM file',
    ], code);
  }
  return new RomError(`could not ${stage} the ROM of ${address} (${code ?? String(err)})`, [], code);
}

function noRomBar(address: PciAddress): RomError {
  return new RomError(`${address} has no ROM BAR (no rom file in sysfs)`, [], 'ENOENT');
}

function readIds(sysfs: Sysfs, dev: string, address: PciAddress): DeviceIds {
  const field = (name: string): number => {
    const r = sysfs.read(`${dev}/${name}`);
    const value = r.ok && /^0x[0-9a-f]+$/i.test(r.value) ? parseInt(r.value, 16) : NaN;
    if (Number.isNaN(value)) throw new RomError(`cannot read ${name} of ${address} (${r.ok ? `"${r.value}"` : r.reason})`);
    return value;
  };
  return { vendor: field('vendor'), device: field('device'), classCode: field('class') };
}

/** The ids a device reports in sysfs, for `vbios check --for`. */
export function readDeviceIds(addressText: string, sysfsRoot = '/sys'): { address: PciAddress; ids: DeviceIds } {
  const address = parsePciAddress(addressText);
  if (!address) throw new RomError(`not a PCI address: "${addressText}"`, ['expected e.g. 0000:01:00.0 or 01:00.0']);
  const sysfs = new Sysfs(sysfsRoot);
  const dev = `bus/pci/devices/${address}`;
  if (!sysfs.exists(dev)) throw new RomError(`no PCI device at ${address}`, [`${sysfs.path(dev)} does not exist`]);
  return { address, ids: readIds(sysfs, dev, address) };
}
