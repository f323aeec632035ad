// Stable QEMU device ids and guest addresses for passed-through GPU functions.
import { formatPciAddress, type PciAddress } from '../../domain/pci-address.js';

const PREFIX = 'baton-gpu-';
const ID = /^baton-gpu-(?:([0-9a-f]{4})-)?([0-9a-f]{2})-([0-9a-f]{2})-([0-7])$/;

/** "0000:01:00.1" → "baton-gpu-01-00-1" (the domain appears only when it is not 0000). */
export function gpuDeviceId(host: PciAddress): string {
  const [domain = '', bus = '', slotFn = ''] = host.split(':');
  const [slot = '', fn = ''] = slotFn.split('.');
  return `${PREFIX}${domain === '0000' ? '' : `${domain}-`}${bus}-${slot}-${fn}`;
}

export function hostAddressFromDeviceId(id: string): PciAddress | null {
  const m = ID.exec(id);
  if (!m) return null;
  const [, domain = '0000', bus = '', slot = '', fn = ''] = m;
  return formatPciAddress(parseInt(domain, 16), parseInt(bus, 16), parseInt(slot, 16), Number(fn));
}

/** QEMU's PCI "addr" property: "0x0.0x1" is slot 0, function 1. */
export function guestPciAddr(slot: number, fn: number): string {
  return `0x${slot.toString(16)}.0x${fn.toString(16)}`;
}
