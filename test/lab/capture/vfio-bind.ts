// Hands PCI functions to vfio-pci through sysfs, the way the helper will: driver_override, unbind
// from the current driver, drivers_probe. Used inside the lab only.
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export function currentDriver(sys: string, address: string): string | undefined {
  const link = join(sys, 'bus/pci/devices', address, 'driver');
  return existsSync(link) ? basename(readlinkSync(link)) : undefined;
}

export function bindToVfio(sys: string, addresses: string[]): void {
  for (const address of addresses) {
    const dev = join(sys, 'bus/pci/devices', address);
    writeFileSync(join(dev, 'driver_override'), 'vfio-pci');
    if (currentDriver(sys, address)) writeFileSync(join(dev, 'driver', 'unbind'), address);
    writeFileSync(join(sys, 'bus/pci/drivers_probe'), address);
    const now = currentDriver(sys, address);
    if (now !== 'vfio-pci') throw new Error(`${address} is bound to ${now ?? 'nothing'} after drivers_probe, not vfio-pci`);
  }
}
