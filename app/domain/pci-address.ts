// A PCI function address in the kernel's canonical form: "0000:01:00.0" (domain:bus:slot.function).

export type PciAddress = string & { readonly __brand: 'PciAddress' };

const CANONICAL = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/;
// What users write: optional domain, any hex case.
const LOOSE = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/** Parses a PCI address as users write it ("01:00.0", "0000:01:00.0"); null when it is not one. */
export function parsePciAddress(text: string): PciAddress | null {
  const m = LOOSE.exec(text.trim());
  if (!m) return null;
  const [, dom = '0', bus = '', slot = '', fn = ''] = m;
  const slotNumber = parseInt(slot, 16);
  if (slotNumber > 0x1f) return null;
  return formatPciAddress(parseInt(dom, 16), parseInt(bus, 16), slotNumber, parseInt(fn, 10));
}

export function isCanonicalPciAddress(text: string): text is PciAddress {
  return CANONICAL.test(text);
}

export function formatPciAddress(domain: number, bus: number, slot: number, fn: number): PciAddress {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${hex(domain, 4)}:${hex(bus, 2)}:${hex(slot, 2)}.${fn}` as PciAddress;
}

/** "0000:01:00" — the slot, shared by every function of a multi-function device. */
export function slotOf(address: PciAddress): string {
  return address.slice(0, address.lastIndexOf('.'));
}

export function functionOf(address: PciAddress): number {
  return Number(address.slice(address.lastIndexOf('.') + 1));
}

/** Orders addresses as the kernel lists them (domain, bus, slot, function). */
export function comparePciAddress(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
