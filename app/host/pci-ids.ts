// Human names for PCI ids from the pci.ids database (Debian package pci.ids), when installed.
import { readFileSync, statSync } from 'node:fs';

export const PCI_IDS_PATHS = ['/usr/share/misc/pci.ids', '/usr/share/hwdata/pci.ids'];

export class PciIds {
  private readonly vendors = new Map<string, string>();
  private readonly devices = new Map<string, string>();

  constructor(text: string) {
    let vendor: string | null = null;
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      // Device classes come last; vendor lines stop there.
      if (line.startsWith('C ')) break;
      const v = /^([0-9a-f]{4})\s+(.+)$/.exec(line);
      if (v?.[1] && v[2]) {
        vendor = v[1];
        this.vendors.set(vendor, v[2]);
        continue;
      }
      const d = /^\t([0-9a-f]{4})\s+(.+)$/.exec(line);
      if (d?.[1] && d[2] && vendor) this.devices.set(`${vendor}:${d[1]}`, d[2]);
    }
  }

  vendorName(vendor: string): string | null {
    return this.vendors.get(vendor.toLowerCase()) ?? null;
  }

  deviceName(vendor: string, device: string): string | null {
    return this.devices.get(`${vendor.toLowerCase()}:${device.toLowerCase()}`) ?? null;
  }
}

/** Parsed once per process and file version: the database is 1.3 MB, and the helper reads the inventory often. */
const parsed = new Map<string, { version: string; ids: PciIds }>();

/** Loads the first pci.ids found; null (names left out) when none is installed. */
export function loadPciIds(paths: string[] = PCI_IDS_PATHS): PciIds | null {
  for (const path of paths) {
    try {
      const st = statSync(path);
      const version = `${st.ino}:${st.size}:${st.mtimeMs}`;
      const known = parsed.get(path);
      if (known?.version === version) return known.ids;
      const ids = new PciIds(readFileSync(path, 'utf8'));
      parsed.set(path, { version, ids });
      return ids;
    } catch {
      // try the next location
    }
  }
  return null;
}
