// Who holds a GPU's VFIO nodes open, seen by the kernel: the IOMMU group's /dev/vfio/N (the legacy
// group interface) and each function's VFIO device cdev /dev/vfio/devices/vfioX (iommufd). A VM that
// holds them is using the device whatever the registry or the hypervisor's socket says, so every
// unbind, driver_override/bind, reset and ROM access first scans /proc/*/fd and refuses, naming the
// process and its VM, instead of touching a device inside a live guest.
//
// The walk costs a readlink per open file of every process (under TCG in the lab, ~1 s of each
// switch), so on the live system the kernel is asked first: a VFIO group node opens only once at a
// time (vfio_group_fops_open: EBUSY while any file of it is open, and a device fd keeps its group's
// file open). When the GPU has no device cdevs (whose opens are not exclusive) and every group node
// opens, nobody holds them; only a busy node, or an answer that says nothing, needs the walk, which
// then names the holder. The open is closed at once: a VM starting on this GPU in that instant
// would get EBUSY, which is what a switch in progress should give it anyway.
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { PciAddress } from '../../domain/pci-address.js';
import type { Sysfs } from '../sysfs/sysfs.js';

export interface GroupHolder {
  pid: number;
  command: string;
  /** The VM the process runs, from QEMU's -name (or libvirt's guest=) argument, when it has one. */
  vmName: string | null;
  argv: string[];
  /** The node it holds open (/dev/vfio/12, /dev/vfio/devices/vfio0). */
  node: string;
}

/** A VFIO node of a GPU, and the function it belongs to (none for the group node). */
export interface VfioNode {
  path: string;
  address: PciAddress | null;
}

/** The group node and every function's device cdev (from /sys/bus/pci/devices/ADDR/vfio-dev/). */
export function vfioNodesOf(sysfs: Sysfs, group: number | null, functions: readonly PciAddress[], devVfio = '/dev/vfio'): VfioNode[] {
  const nodes: VfioNode[] = [];
  if (group !== null) {
    if (!Number.isInteger(group) || group < 0) throw new RangeError(`IOMMU group ${group} is not a group number`);
    nodes.push({ path: `${devVfio}/${group}`, address: null });
  }
  const groups = new Set(group === null ? [] : [group]);
  for (const address of functions) {
    // A function outside the GPU's group (a USB controller in movablePeers) has a group node of its own.
    const own = Number(sysfs.linkName(`bus/pci/devices/${address}/iommu_group`));
    if (Number.isInteger(own) && own >= 0 && !groups.has(own)) {
      groups.add(own);
      nodes.push({ path: `${devVfio}/${own}`, address });
    }
    for (const cdev of sysfs.list(`bus/pci/devices/${address}/vfio-dev`)) {
      if (/^vfio\d+$/.test(cdev)) nodes.push({ path: `${devVfio}/devices/${cdev}`, address });
    }
  }
  return nodes;
}

/** Processes with any of `nodes` open: one pass over /proc/<pid>/fd. */
export function findHolders(nodes: readonly string[], procRoot = '/proc'): GroupHolder[] {
  const wanted = new Set(nodes);
  const holders: GroupHolder[] = [];
  if (wanted.size === 0) return holders;
  for (const entry of safeList(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const held = new Set<string>();
    for (const fd of safeList(`${procRoot}/${entry}/fd`)) {
      const target = safeLink(`${procRoot}/${entry}/fd/${fd}`);
      if (target !== null && wanted.has(target)) held.add(target);
    }
    if (held.size === 0) continue;
    const argv = safeRead(`${procRoot}/${entry}/cmdline`).split('\0').filter(Boolean);
    const command = safeRead(`${procRoot}/${entry}/comm`).trim() || argv[0] || '?';
    for (const node of held) holders.push({ pid: Number(entry), command, vmName: vmNameFromArgv(argv), argv, node });
  }
  return holders;
}

/** Processes with /dev/vfio/<group> open. */
export function findGroupHolders(group: number, procRoot = '/proc', devVfio = '/dev/vfio'): GroupHolder[] {
  if (!Number.isInteger(group) || group < 0) throw new RangeError(`IOMMU group ${group} is not a group number`);
  return findHolders([`${devVfio}/${group}`], procRoot);
}

/** QEMU's `-name guest=win11,debug-threads=on` or `-name win11`. */
export function vmNameFromArgv(argv: string[]): string | null {
  const i = argv.indexOf('-name');
  const value = i >= 0 ? argv[i + 1] : undefined;
  if (!value) return null;
  const parts = value.split(',');
  const guest = parts.find((p) => p.startsWith('guest='));
  return guest ? guest.slice('guest='.length) : (parts[0] ?? null);
}

export function describeHolders(holders: GroupHolder[]): string {
  return holders.map((h) => `${h.command} (pid ${h.pid}${h.vmName ? `, VM ${h.vmName}` : ''}) holds ${h.node}`).join(', ');
}

/** code EINUSE: a process holds the GPU's VFIO nodes, so the kernel call was not made. */
export class DeviceInUse extends Error {
  readonly code = 'EINUSE';
  constructor(
    readonly address: PciAddress,
    readonly group: number | null,
    readonly holders: GroupHolder[],
    /** What was refused ("reset", "unbind 0000:01:00.1 from vfio-pci"). */
    readonly action: string,
  ) {
    super(`refusing to ${action}: ${address}${group === null ? '' : ` (IOMMU group ${group})`} is in use: ${describeHolders(holders)}; the VM must let go of the GPU first (detach it or shut the VM down)`);
    this.name = 'DeviceInUse';
  }
}

/**
 * Test-only: BATON_TEST_FORCE_PAST_HOLDER=N lets the next N calls that find a holder go ahead
 * anyway (the KVM lab uses it to get a kernel write really stuck). Read once, when the helper
 * builds its host context; only root sets the helper's environment. Never set it in production.
 */
export const FORCE_PAST_HOLDER_ENV = 'BATON_TEST_FORCE_PAST_HOLDER';

export function forcePastHolderBudget(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[FORCE_PAST_HOLDER_ENV];
  if (text === undefined || text === '' || text === '0') return 0;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** What opening a group node said: free (opened, or no such node), busy (EBUSY), or nothing sure. */
export type GroupOpen = 'free' | 'busy' | 'unknown';

/** Opens a VFIO group node and closes it again at once (see the header). */
export function tryOpenGroup(path: string): GroupOpen {
  let fd: number;
  try {
    // libuv opens every file close-on-exec.
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No node: no vfio driver has the group, so nobody can open it (a file left open on a node
    // since deleted does not read back as the node's path to the walk either).
    if (code === 'ENOENT') return 'free';
    return code === 'EBUSY' ? 'busy' : 'unknown';
  }
  try {
    // Only a character device has the kernel's exclusive open: anything else says nothing.
    return fstatSync(fd).isCharacterDevice() ? 'free' : 'unknown';
  } finally {
    closeSync(fd);
  }
}

export interface InUseGuardOptions {
  sysfs: Sysfs;
  procRoot: string;
  devVfio: string;
  /**
   * Asks the kernel before the /proc walk (tryOpenGroup). Default: only with the real /proc, whose
   * processes are the ones the kernel's answer is about.
   */
  tryOpen?: ((path: string) => GroupOpen) | null;
  /** How many calls may go past a holder (the test-only override); 0 in production. */
  forcePast: number;
  /** Where a forced call is reported. */
  warn?: (line: string) => void;
}

/** The one in-use check: throws DeviceInUse when any process holds one of the GPU's VFIO nodes. */
export class InUseGuard {
  private forcePast: number;
  private readonly tryOpen: ((path: string) => GroupOpen) | null;

  constructor(private readonly options: InUseGuardOptions) {
    this.forcePast = options.forcePast;
    this.tryOpen = options.tryOpen !== undefined ? options.tryOpen : options.procRoot === '/proc' ? tryOpenGroup : null;
  }

  check(gpu: { address: PciAddress; iommuGroup: number | null; functions: readonly PciAddress[] }, action: string): void {
    const nodes = vfioNodesOf(this.options.sysfs, gpu.iommuGroup, gpu.functions, this.options.devVfio);
    if (this.kernelSaysFree(nodes)) return;
    const holders = findHolders(nodes.map((n) => n.path), this.options.procRoot);
    if (holders.length === 0) return;
    const refusal = new DeviceInUse(gpu.address, gpu.iommuGroup, holders, action);
    if (this.forcePast > 0) {
      this.forcePast--;
      (this.options.warn ?? ((l) => process.stderr.write(`${l}\n`)))(`baton: ${FORCE_PAST_HOLDER_ENV} set: going past the in-use check: ${refusal.message}`);
      return;
    }
    throw refusal;
  }

  /** True when the kernel's exclusive open says nobody holds any of the nodes (see the header). */
  private kernelSaysFree(nodes: readonly VfioNode[]): boolean {
    if (!this.tryOpen || nodes.length === 0) return false;
    const prefix = `${this.options.devVfio}/`;
    const isGroupNode = (path: string) => path.startsWith(prefix) && /^\d+$/.test(path.slice(prefix.length));
    if (!nodes.every((n) => isGroupNode(n.path))) return false; // a device cdev: only the walk knows
    return nodes.every((n) => this.tryOpen!(n.path) === 'free');
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
