// The PCI Express Device Serial Number (extended capability 0x0003, PCIe spec 7.9.3): a 64-bit
// number the card carries (EUI-64 style), the serial that tells two identical cards apart. It sits
// in extended config space (from offset 0x100), which the kernel shows only to root: a read by a
// normal user gets the first 64 bytes. Written the way `lspci -vv` prints it: 00-11-22-33-44-55-66-77.

export type DeviceSerial = { dsn: string } | { dsn: null; why: string };

const PCI_EXT_CAP_ID_DSN = 0x0003;
const EXT_START = 0x100;

export function readDeviceSerial(config: Uint8Array | undefined): DeviceSerial {
  if (!config) return { dsn: null, why: 'its config space cannot be read' };
  const view = Buffer.from(config.buffer, config.byteOffset, config.byteLength);
  if (view.length <= EXT_START) {
    return { dsn: null, why: `only ${view.length} bytes of its config space are readable; the serial sits in the extended space, which only root can read` };
  }
  let at = EXT_START;
  for (let hops = 0; at >= EXT_START && at + 4 <= view.length && hops < 1024; hops++) {
    const header = view.readUInt32LE(at);
    if (header === 0 || header === 0xffffffff) break;
    if ((header & 0xffff) === PCI_EXT_CAP_ID_DSN) {
      if (at + 12 > view.length) break;
      const low = view.readUInt32LE(at + 4);
      const high = view.readUInt32LE(at + 8);
      const bytes = [high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff];
      return { dsn: bytes.map((b) => b.toString(16).padStart(2, '0')).join('-') };
    }
    at = (header >>> 20) & 0xffc;
  }
  return { dsn: null, why: 'the card has no Device Serial Number capability' };
}

const DSN_TEXT = /^[0-9a-f]{2}(?:[-:]?[0-9a-f]{2}){7}$/i;

/** "0011223344556677", "00:11:..." or "00-11-..." in any case to lspci's form; null when it is not one. */
export function normalizeDeviceSerial(text: string): string | null {
  const t = text.trim();
  if (!DSN_TEXT.test(t)) return null;
  const hex = t.replace(/[-:]/g, '').toLowerCase();
  return hex.match(/../g)!.join('-');
}
