// Who holds a VFIO group open: before unbinding from vfio-pci (which blocks in the kernel while the
// device is open), Baton names the process and the VM instead of issuing the write.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface GroupHolder {
  pid: number;
  command: string;
  /** The VM the process runs, from QEMU's -name (or libvirt's guest=) argument, when it has one. */
  vmName: string | null;
  argv: string[];
}

/** Processes with /dev/vfio/<group> (or a VFIO device cdev of it) open. */
export function findGroupHolders(group: number, procRoot = '/proc'): GroupHolder[] {
  if (!Number.isInteger(group) || group < 0) throw new RangeError(`IOMMU group ${group} is not a group number`);
  const target = `/dev/vfio/${group}`;
  const holders: GroupHolder[] = [];
  for (const entry of safeList(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = safeList(`${procRoot}/${entry}/fd`);
    const holds = fds.some((fd) => safeLink(`${procRoot}/${entry}/fd/${fd}`) === target);
    if (!holds) continue;
    const argv = safeRead(`${procRoot}/${entry}/cmdline`).split('\0').filter(Boolean);
    holders.push({ pid: Number(entry), command: safeRead(`${procRoot}/${entry}/comm`).trim() || argv[0] || '?', vmName: vmNameFromArgv(argv), argv });
  }
  return holders;
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
  return holders.map((h) => `${h.command} (pid ${h.pid}${h.vmName ? `, VM ${h.vmName}` : ''})`).join(', ');
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
