// Reads a PCI function's option ROM through sysfs: enable (write "1"), read, and always disable (write "0").
import { parsePciAddress, type PciAddress } from '../../domain/pci-address.js';
import type { DeviceIds } from '../../domain/vbios/types.js';
import { Sysfs } from '../sysfs/sysfs.js';
import type { KernelLane } from '../kernel/kernel-writer.js';
import { RomError } from './errors.js';
import { MAX_ROM_BYTES, realFs, type RomFs } from './files.js';
import { toggleRom, type ToggleOutcome } from './toggle.js';

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

interface PreparedCapture {
  address: PciAddress;
  ids: DeviceIds;
  bootVga: boolean;
  romPath: string;
}

function prepare(addressText: string, sysfsRoot: string): PreparedCapture {
  const address = parsePciAddress(addressText);
  if (!address) throw new RomError(`not a PCI address: "${addressText}"`, ['expected e.g. 0000:01:00.0 or 01:00.0']);
  const sysfs = new Sysfs(sysfsRoot);
  const dev = `bus/pci/devices/${address}`;
  if (!sysfs.exists(dev)) throw new RomError(`no PCI device at ${address}`, [`${sysfs.path(dev)} does not exist`]);
  const ids = readIds(sysfs, dev, address);
  const bootVga = sysfs.text(`${dev}/boot_vga`) === '1';
  if (!sysfs.exists(`${dev}/rom`)) throw noRomBar(address);
  return { address, ids, bootVga, romPath: sysfs.path(`${dev}/rom`) };
}

/** The enable/read/disable outcome as a capture, or the RomError that says what went wrong. */
function finish(prep: PreparedCapture, outcome: ToggleOutcome): CapturedRom {
  const { address, romPath } = prep;
  if (outcome.failure) {
    const failure = mapError(outcome.failure, address);
    if (outcome.disableFailure) failure.details.push(`also could not disable the ROM again (${outcome.disableFailure}): write 0 to ${romPath}`);
    throw failure;
  }
  if (!outcome.data || outcome.data.length === 0) throw new RomError(`the kernel returned an empty ROM for ${address}`, ['the ROM BAR may be disabled by the bound driver']);
  const notes = prep.bootVga ? [SHADOW_NOTE] : [];
  if (outcome.disableFailure) notes.push(`could not disable the ROM of ${address} again (${outcome.disableFailure}); write 0 to its rom file`);
  return { address, bytes: outcome.data, ids: prep.ids, bootVga: prep.bootVga, shadow: prep.bootVga, notes };
}

/** In-process, for the root CLI (a one-shot process). The helper uses captureRomInLane. */
export function captureRom(addressText: string, options: CaptureOptions = {}): CapturedRom {
  const prep = prepare(addressText, options.sysfsRoot ?? '/sys');
  return finish(prep, toggleRom(options.fs ?? realFs, prep.romPath, options.maxBytes ?? MAX_ROM_BYTES));
}

export const ROM_DEADLINE_MS = 30_000;

/**
 * The same sequence in the GPU's kernel-writer child, under a deadline, so a ROM read that stalls
 * on a sick device never blocks the helper. The lane checks first that no process holds the GPU.
 */
export async function captureRomInLane(addressText: string, lane: Pick<KernelLane, 'call'>, options: Omit<CaptureOptions, 'fs'> & { deadlineMs?: number } = {}): Promise<CapturedRom> {
  const prep = prepare(addressText, options.sysfsRoot ?? '/sys');
  let answer: { data?: string; failure?: ToggleOutcome['failure']; disableFailure?: string };
  try {
    answer = (await lane.call({ op: 'rom', path: prep.romPath, maxBytes: options.maxBytes ?? MAX_ROM_BYTES }, options.deadlineMs ?? ROM_DEADLINE_MS, `reading the ROM of ${prep.address}`)) as typeof answer;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new RomError((err as Error).message, [], typeof code === 'string' ? code : undefined);
  }
  return finish(prep, {
    ...(answer.data !== undefined ? { data: new Uint8Array(Buffer.from(answer.data, 'base64')) } : {}),
    ...(answer.failure ? { failure: answer.failure } : {}),
    ...(answer.disableFailure ? { disableFailure: answer.disableFailure } : {}),
  });
}

function mapError(failure: NonNullable<ToggleOutcome['failure']>, address: PciAddress): RomError {
  const { stage, code } = failure;
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
  return new RomError(`could not ${stage} the ROM of ${address} (${code ?? failure.message})`, [], code);
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
