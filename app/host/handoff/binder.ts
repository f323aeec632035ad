// The kernel's driver binding for one PCI function, the libvirt way: driver_override + unbind +
// drivers_probe (never new_id, which grabs every matching device). Each write has a deadline.
import type { PciAddress } from '../../domain/pci-address.js';
import type { KernelLane } from '../kernel/kernel-writer.js';
import type { Sysfs } from '../sysfs/sysfs.js';

const DRIVER_NAME = /^[A-Za-z0-9_.-]+$/;

export class Binder {
  constructor(
    private readonly sysfs: Sysfs,
    private readonly writer: Pick<KernelLane, 'write'>,
    private readonly deadlineMs = 10_000,
  ) {}

  driverOf(address: PciAddress): string | null {
    return this.sysfs.linkName(`bus/pci/devices/${address}/driver`) ?? null;
  }

  private write(rel: string, value: string): Promise<void> {
    return this.writer.write({ path: this.sysfs.path(rel), value, deadlineMs: this.deadlineMs });
  }

  async setOverride(address: PciAddress, driver: string | null): Promise<void> {
    if (driver !== null && !DRIVER_NAME.test(driver)) throw new Error(`${JSON.stringify(driver)} is not a driver name`);
    // A lone newline clears the override.
    await this.write(`bus/pci/devices/${address}/driver_override`, driver === null ? '\n' : driver);
  }

  async unbind(address: PciAddress): Promise<void> {
    const driver = this.driverOf(address);
    if (driver === null) return;
    await this.write(`bus/pci/drivers/${driver}/unbind`, address);
  }

  /** Let the kernel bind the driver that matches now (the override, or the usual driver). */
  async probe(address: PciAddress): Promise<void> {
    await this.write('bus/pci/drivers_probe', address);
  }

  async bindTo(address: PciAddress, driver: string): Promise<void> {
    if (!DRIVER_NAME.test(driver)) throw new Error(`${JSON.stringify(driver)} is not a driver name`);
    await this.write(`bus/pci/drivers/${driver}/bind`, address);
  }

  hasDriver(driver: string): boolean {
    return DRIVER_NAME.test(driver) && this.sysfs.exists(`bus/pci/drivers/${driver}`);
  }

  /** Moves one function to vfio-pci and checks that vfio-pci really took it. */
  async toVfio(address: PciAddress): Promise<void> {
    await this.setOverride(address, 'vfio-pci');
    await this.unbind(address);
    await this.probe(address);
    const now = this.driverOf(address);
    if (now !== 'vfio-pci') throw new Error(`${address}: vfio-pci did not bind (driver is ${now ?? 'none'}); is vfio-pci loaded?`);
  }

  /** Takes one function off vfio-pci and clears its override; the host driver binds later. */
  async leaveVfio(address: PciAddress): Promise<void> {
    if (this.driverOf(address) === 'vfio-pci') await this.write('bus/pci/drivers/vfio-pci/unbind', address);
    await this.setOverride(address, null);
  }

  /** Binds the remembered host driver, or whatever the kernel matches when none is remembered. */
  async bindHost(address: PciAddress, original: string | null | undefined): Promise<string | null> {
    if (this.driverOf(address) === null) {
      if (original && this.hasDriver(original)) await this.bindTo(address, original);
      else if (original !== null) await this.probe(address);
    }
    const now = this.driverOf(address);
    if (original && now !== original) throw new Error(`${address}: expected the host driver ${original} to bind, but the driver is ${now ?? 'none'}`);
    return now;
  }
}
