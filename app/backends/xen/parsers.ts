// Parsers for what xl and xenstore print (Xen 4.17, checked against test/fixtures/xen/): domain lists,
// PCI lists, the assignable pool, and the PV PCI backend's xenstore directory.
import type { PciAddress } from '../../domain/pci-address.js';
import { formatPciAddress, parsePciAddress } from '../../domain/pci-address.js';
import type { VmState } from '../../domain/vm/port.js';

/** Output that is not what xl / xenstore print; the message says where. */
export class XenFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XenFormatError';
  }
}

// --- xl list ---

export interface XlDomain {
  name: string;
  domid: number;
  memMb: number;
  vcpus: number;
  /** The six state flags, e.g. "-b----", "--p---". */
  flags: string;
  timeS: number;
}

const FLAGS = /^[r-][b-][p-][s-][c-][d-]$/;

/** `xl list`: a header, then one row per domain. Names may hold spaces: the five last columns are fixed. */
export function parseXlList(text: string): XlDomain[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const [header, ...rows] = lines;
  if (header === undefined) throw new XenFormatError('xl list printed nothing (not even its header)');
  if (!/^Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)/.test(header)) throw new XenFormatError(`xl list: unexpected header ${JSON.stringify(header)}`);
  return rows.map((row) => {
    const tokens = row.trim().split(/\s+/);
    if (tokens.length < 6) throw new XenFormatError(`xl list: row has fewer than 6 columns: ${JSON.stringify(row)}`);
    const [id = '', mem = '', vcpus = '', flags = '', time = ''] = tokens.slice(-5);
    const name = tokens.slice(0, -5).join(' ');
    if (!/^\d+$/.test(id) || !/^\d+$/.test(mem) || !/^\d+$/.test(vcpus) || !FLAGS.test(flags) || !/^\d+(\.\d+)?$/.test(time)) {
      throw new XenFormatError(`xl list: cannot read row ${JSON.stringify(row)}`);
    }
    return { name, domid: Number(id), memMb: Number(mem), vcpus: Number(vcpus), flags, timeS: Number(time) };
  });
}

/** xl's flags → the port's state: crashed, dying or shut down first (they outrank the rest), then paused; r, b or none is alive. */
export function vmStateFromFlags(flags: string): VmState {
  if (!FLAGS.test(flags)) return 'unknown';
  if (flags[4] === 'c') return 'crashed';
  // Dying (being destroyed) or shut down (halted, kept only until the toolstack destroys it): holds nothing live.
  if (flags[5] === 'd' || flags[3] === 's') return 'shut-off';
  if (flags[2] === 'p') return 'paused';
  // r (running), b (blocked: idle, waiting for an event) and ------ (runnable, waiting for a CPU) are all alive.
  return 'running';
}

// --- xl list -l (JSON) ---

export interface XlDomainConfig {
  domid: number;
  name: string;
  /** "pv", "hvm", "pvh" (c_info.type). */
  type: string;
  /** Host functions in the domain's config (pcidevs), fields xl leaves out being 0. */
  pcidevs: PciAddress[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `xl list -l [DOM]`: a JSON array with one object per domain. */
export function parseXlListLong(text: string): XlDomainConfig[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new XenFormatError(`xl list -l: not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data)) throw new XenFormatError('xl list -l: expected a JSON array');
  return data.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.domid !== 'number' || !isRecord(entry.config)) {
      throw new XenFormatError(`xl list -l: entry ${i} has no domid or config`);
    }
    const cInfo = entry.config.c_info;
    if (!isRecord(cInfo) || typeof cInfo.name !== 'string') throw new XenFormatError(`xl list -l: entry ${i} has no c_info.name`);
    const pcidevs = entry.config.pcidevs ?? [];
    if (!Array.isArray(pcidevs)) throw new XenFormatError(`xl list -l: ${cInfo.name}: pcidevs is not an array`);
    const field = (dev: Record<string, unknown>, key: string): number => {
      const value = dev[key] ?? 0;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new XenFormatError(`xl list -l: ${cInfo.name}: pcidevs ${key} is ${JSON.stringify(value)}`);
      return value;
    };
    return {
      domid: entry.domid,
      name: cInfo.name,
      type: typeof cInfo.type === 'string' ? cInfo.type : 'unknown',
      pcidevs: pcidevs.map((dev: unknown) => {
        if (!isRecord(dev)) throw new XenFormatError(`xl list -l: ${cInfo.name}: a pcidevs entry is not an object`);
        return formatPciAddress(field(dev, 'domain'), field(dev, 'bus'), field(dev, 'dev'), field(dev, 'func'));
      }),
    };
  });
}

// --- xl pci-list ---

export interface XlPciListEntry {
  /** The guest's slot.function, e.g. "00.0" (PV shows 00.0 for every function). */
  vdev: string;
  vslot: number;
  vfunc: number;
  device: PciAddress;
}

/** `xl pci-list DOM`: empty when there is nothing (no header), else "Vdev Device" and "SS.F DDDD:BB:DD.F" rows. */
export function parseXlPciList(text: string): XlPciListEntry[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const [header, ...rows] = lines;
  if (!/^Vdev\s+Device\s*$/.test(header ?? '')) throw new XenFormatError(`xl pci-list: unexpected header ${JSON.stringify(header)}`);
  return rows.map((row) => {
    const m = /^([0-9a-f]{2})\.([0-7])\s+([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\s*$/.exec(row.trim());
    const device = m?.[3] ? parsePciAddress(m[3]) : null;
    if (!m || !device) throw new XenFormatError(`xl pci-list: cannot read row ${JSON.stringify(row)}`);
    return { vdev: `${m[1]}.${m[2]}`, vslot: parseInt(m[1] ?? '', 16), vfunc: Number(m[2]), device };
  });
}

// --- xl pci-assignable-list ---

export interface AssignableDevice {
  address: PciAddress;
  /** The name given with pci-assignable-add -n, or null. */
  name: string | null;
}

/** `xl pci-assignable-list`: "DDDD:BB:DD.F NAME" per line; NAME is empty (a trailing space) unless one was given. */
export function parseAssignableList(text: string): AssignableDevice[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const m = /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?: (.*))?$/.exec(line.trimEnd());
    const address = m?.[1] ? parsePciAddress(m[1]) : null;
    if (!m || !address) throw new XenFormatError(`xl pci-assignable-list: cannot read line ${JSON.stringify(line)}`);
    const name = m[2]?.trim();
    return { address, name: name ? name : null };
  });
}

// --- xenstore ls -f ---

/** `xenstore-ls -f PATH`: `/full/path = "value"` per line → path → value (C escapes in values kept as printed). */
export function parseXenstoreLs(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(\/\S*) = "(.*)"$/.exec(line);
    if (!m) throw new XenFormatError(`xenstore-ls: cannot read line ${JSON.stringify(line)}`);
    entries.set(m[1] ?? '', m[2] ?? '');
  }
  return entries;
}

export const XENBUS_STATES = [
  'Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured',
] as const;
export type XenbusStateName = (typeof XENBUS_STATES)[number];

export interface XenbusState {
  code: number;
  /** Name from xen/include/public/io/xenbus.h; "Invalid" for a code outside 0–8. */
  name: XenbusStateName | 'Invalid';
}

export function xenbusState(value: string): XenbusState {
  const code = /^\d+$/.test(value) ? Number(value) : NaN;
  const name = XENBUS_STATES[code];
  return { code: Number.isNaN(code) ? -1 : code, name: name ?? 'Invalid' };
}

export interface PciBackendDevice {
  /** N in dev-N, state-N, … (libxl renumbers after a removal). */
  index: number;
  /** dev-N: the host function. */
  address: PciAddress;
  /** state-N: Initialising (1) when libxl adds it, Initialised (3) once pciback exported it, Closing (5) on removal. */
  state: XenbusState | null;
  /** vdev-N, e.g. "0000:00:00.00", once exported. */
  vdev: string | null;
}

/** The PV PCI backend of one domain: /local/domain/0/backend/pci/<domid>/0. */
export interface PciBackendState {
  path: string;
  domid: number;
  /** False when the directory does not exist (no device was ever attached, or the last one left). */
  exists: boolean;
  /** Backend `state`: Connected (4) when idle, Reconfiguring (7) / Reconfigured (8) during a change. */
  state: XenbusState | null;
  numDevs: number | null;
  devices: PciBackendDevice[];
}

export function pciBackendPath(domid: number): string {
  return `/local/domain/0/backend/pci/${domid}/0`;
}

/** The backend of `domid` out of a `xenstore-ls -f` listing of it (or of a parent directory). */
export function pciBackendFromEntries(entries: ReadonlyMap<string, string>, domid: number): PciBackendState {
  const path = pciBackendPath(domid);
  const key = (k: string): string | undefined => entries.get(`${path}/${k}`);
  const exists = entries.has(path) || [...entries.keys()].some((k) => k.startsWith(`${path}/`));
  const stateText = key('state');
  const numText = key('num_devs');
  if (numText !== undefined && !/^\d+$/.test(numText)) throw new XenFormatError(`${path}/num_devs is ${JSON.stringify(numText)}`);
  const devices: PciBackendDevice[] = [];
  for (const [k, value] of entries) {
    const m = /^dev-(\d+)$/.exec(k.startsWith(`${path}/`) ? k.slice(path.length + 1) : '');
    if (!m) continue;
    const index = Number(m[1]);
    const address = parsePciAddress(value);
    if (!address) throw new XenFormatError(`${path}/dev-${index} is not a PCI address: ${JSON.stringify(value)}`);
    const deviceState = key(`state-${index}`);
    devices.push({ index, address, state: deviceState === undefined ? null : xenbusState(deviceState), vdev: key(`vdev-${index}`) ?? null });
  }
  devices.sort((a, b) => a.index - b.index);
  return {
    path, domid, exists,
    state: stateText === undefined ? null : xenbusState(stateText),
    numDevs: numText === undefined ? null : Number(numText),
    devices,
  };
}

/** Every PCI backend in a listing of /local/domain/0/backend/pci (one per domain that had a device). */
export function pciBackendsFromEntries(entries: ReadonlyMap<string, string>): PciBackendState[] {
  const domids = new Set<number>();
  for (const k of entries.keys()) {
    const m = /^\/local\/domain\/0\/backend\/pci\/(\d+)(?:\/|$)/.exec(k);
    if (m) domids.add(Number(m[1]));
  }
  return [...domids].sort((a, b) => a - b).map((d) => pciBackendFromEntries(entries, d));
}

/** One line for logs and errors, e.g. "state 7 Reconfiguring, num_devs 1, 0000:01:00.0 state-0 5 Closing". */
export function describePciBackend(backend: PciBackendState): string {
  if (!backend.exists) return `${backend.path} absent`;
  const s = (x: XenbusState | null) => (x ? `${x.code} ${x.name}` : 'unset');
  const devices = backend.devices.map((d) => `${d.address} state-${d.index} ${s(d.state)}`);
  return [`state ${s(backend.state)}`, `num_devs ${backend.numDevs ?? 'unset'}`, ...devices].join(', ');
}
