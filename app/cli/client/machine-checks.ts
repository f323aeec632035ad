// What a config means on this machine, beyond its own validity: the accounts helper.users and
// helper.group name exist (the helper refuses to start otherwise), each configured GPU is on the
// bus, and no journal was set aside by a recovery. Shared by `baton config check` and `baton doctor`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatonConfig, ConfigError, GpuConfig } from '../../domain/config/index.js';
import { configLocator, type PathSegment } from '../../domain/config/positions.js';
import type { PciAddress } from '../../domain/pci-address.js';
import { findGroup, readUsers, SYSTEM_ACCOUNT_FILES, type AccountFiles } from '../../helper/daemon/accounts.js';
import { stateFolderOf } from '../../helper/daemon/instance-lock.js';

export interface MachineChecks {
  accountFiles: AccountFiles;
  sysRoot: string;
}

export const THIS_MACHINE: MachineChecks = { accountFiles: SYSTEM_ACCOUNT_FILES, sysRoot: '/sys' };

/** Where `path` is in the file, for FILE:LINE:COL (1:1 when the value is a default the file leaves out). */
function locator(file: string, text: string | null): (path: PathSegment[]) => { line: number; col: number } {
  if (text === null) return () => ({ line: 1, col: 1 });
  return configLocator(text);
}

/** helper.group and helper.users entries that name no account on this system, as config errors. */
export function accountErrors(config: BatonConfig, file: string, text: string | null, files: AccountFiles): ConfigError[] {
  const at = locator(file, text);
  const errors: ConfigError[] = [];
  if (!findGroup(files, config.helper.group)) {
    errors.push({ file, ...at(['helper', 'group']), path: 'helper.group', message: `no group named ${JSON.stringify(config.helper.group)} on this system (${files.group}); the helper refuses to start (create it: groupadd ${config.helper.group})` });
  }
  const users = readUsers(files.passwd);
  config.helper.users.forEach((entry, i) => {
    if (typeof entry === 'string' && !users.some((u) => u.name === entry)) {
      errors.push({ file, ...at(['helper', 'users', i]), path: `helper.users[${i}]`, message: `no user named ${JSON.stringify(entry)} on this system (${files.passwd}); the helper refuses to start` });
    }
  });
  return errors;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

export function describeMatch(gpu: GpuConfig): string {
  return gpu.match.by === 'address' ? `address ${gpu.match.address}` : `ids ${gpu.match.vendor}:${gpu.match.device}`;
}

/** Where a configured GPU sits now: its address, or the first device with its ids; null when absent. */
export function locateGpu(sysRoot: string, gpu: GpuConfig): PciAddress | null {
  const devices = join(sysRoot, 'bus/pci/devices');
  if (gpu.match.by === 'address') return existsSync(join(devices, gpu.match.address)) ? gpu.match.address : null;
  const { vendor, device } = gpu.match;
  let entries: string[] = [];
  try {
    entries = readdirSync(devices);
  } catch {
    return null;
  }
  const found = entries.find((a) => read(join(devices, a, 'vendor')) === `0x${vendor}` && read(join(devices, a, 'device')) === `0x${device}`);
  return (found as PciAddress | undefined) ?? null;
}

/** Configured GPUs not on this machine's PCI bus, as warnings at their config entry. */
export function absentGpuWarnings(config: BatonConfig, file: string, text: string | null, sysRoot: string): ConfigError[] {
  const at = locator(file, text);
  return config.gpus.flatMap((gpu, i) =>
    locateGpu(sysRoot, gpu) ? [] : [{ file, ...at(['gpus', i, 'match']), path: `gpus[${i}]`, message: `${gpu.name} is not on this machine (no PCI device with ${describeMatch(gpu)}); the helper reports it absent` }],
  );
}

/** Where recovery puts a journal it could not use (the engine's JournalBook: <state>/journal/aside). */
export function setAsideFolder(config: BatonConfig): string {
  return join(stateFolderOf(config), 'journal', 'aside');
}

/** Journals a recovery set aside, by path; an unreadable folder counts as none. */
export function setAsideJournals(config: BatonConfig): string[] {
  const folder = setAsideFolder(config);
  try {
    return readdirSync(folder).sort().map((name) => join(folder, name));
  } catch {
    return [];
  }
}

