// Sysfs attributes whose read waits for a kernel lock that a device's own kernel calls hold.
// Linux 6.1: driver_override's show() takes device_lock (drivers/pci/pci-sysfs.c), which an unbind,
// a bind and a function reset hold for as long as they run; a config read sleeps while config
// access is blocked, as it is during a reset (pci_wait_cfg, drivers/pci/access.c). Both waits are
// uninterruptible. An unbind of vfio-pci from a device a VM still holds waits for the VM, so reading
// either attribute of that device from the helper's main thread would freeze the whole helper.
// The other attributes the inventory reads (ids, class, revision, reset_method, boot_vga, the driver
// and iommu_group links) show cached fields without a lock.
//
// So the inventory asks here first: while the GPU's kernel lane has a call in flight or is wedged,
// these attributes of its functions (its slot: every function of a GPU shares bus and device number)
// are not read, and the last value read is reported instead, with a problem entry saying so.
import type { PciAddress } from '../../domain/pci-address.js';

export const LOCK_TAKING_ATTRIBUTES = ['driver_override', 'config'] as const;
export type LockTakingAttribute = (typeof LOCK_TAKING_ATTRIBUTES)[number];

/** A kernel call of one GPU's lane: in flight now, or stuck past its deadline (wedged). */
export interface KernelCallInProgress {
  gpu: PciAddress;
  what: string;
  since: Date;
  wedged: boolean;
}

/** "0000:01:00.3" → "0000:01:00": the functions of one device. */
const slotOf = (address: PciAddress): string => address.slice(0, address.lastIndexOf('.'));

export class DeviceLockGuard {
  private readonly lastKnown = new Map<string, string | Buffer | undefined>();

  /** `calls` lists every GPU lane's call in flight or wedged, right now. */
  constructor(private readonly calls: () => readonly KernelCallInProgress[]) {}

  /** The kernel call that may hold this function's lock, or null when it is safe to read. */
  callHolding(address: PciAddress): KernelCallInProgress | null {
    const slot = slotOf(address);
    return this.calls().find((c) => slotOf(c.gpu) === slot) ?? null;
  }

  /**
   * Reads a lock-taking attribute unless a kernel call of its GPU may hold the lock; then the last
   * value read is returned and `problems` says why (and that it is the last known one, or unknown).
   */
  read<T extends string | Buffer>(address: PciAddress, attribute: LockTakingAttribute, read: () => T | undefined, problems: string[]): T | undefined {
    const key = `${address}/${attribute}`;
    const call = this.callHolding(address);
    if (!call) {
      const value = read();
      this.lastKnown.set(key, value);
      return value;
    }
    const state = call.wedged ? `stuck in the kernel since ${call.since.toISOString()}` : `in progress since ${call.since.toISOString()}`;
    const known = this.lastKnown.has(key);
    problems.push(`${attribute}: not read while a kernel call for ${call.gpu} is ${state} (${call.what}); ${known ? 'showing the last known value' : 'unknown while a kernel call is in progress'}`);
    return this.lastKnown.get(key) as T | undefined;
  }
}

