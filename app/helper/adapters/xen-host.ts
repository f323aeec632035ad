// The host port in a Xen dom0: the stub driver is pciback, and xl does the binding itself
// (pci-assignable-add unbinds the host driver, remembers it in xenstore and binds pciback;
// pci-assignable-remove -r gives the device back to that driver). Inventory, reset and ROMs are
// the kernel's, as on a KVM host.
import { execFile } from 'node:child_process';
import type { HandoffPolicy } from '../../domain/handoff/policy.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { HostPort } from '../../domain/switch/ports.js';
import { HandoffFailed, HandoffRefused } from '../../host/handoff/errors.js';
import type { HandoffContext } from '../../host/handoff/context.js';
import type { RomStore } from '../../host/rom/store.js';
import { RealHost } from './real-host.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

const XL_DEADLINE_MS = 60_000;

export interface XenHostOptions {
  xlPath?: string;
  env?: Readonly<Record<string, string>>;
}

export class XenHost extends RealHost implements HostPort {
  override readonly stubDriver = 'pciback';

  constructor(ctx: HandoffContext, roms: RomStore, private readonly xenOptions: XenHostOptions = {}) {
    super(ctx, roms);
  }

  private xl(args: string[]): Promise<string> {
    return waitedOn(new Promise((resolve, reject) => {
      execFile(this.xenOptions.xlPath ?? 'xl', args, { timeout: XL_DEADLINE_MS, killSignal: 'SIGKILL', env: { ...process.env, ...this.xenOptions.env, LC_ALL: 'C' }, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = (err as { killed?: boolean }).killed ? `no answer within ${XL_DEADLINE_MS} ms` : stderr.trim().split('\n').filter((l) => l.trim()).slice(-3).join('; ') || err.message;
        reject(new Error(`xl ${args.join(' ')}: ${why}`));
      });
     }));
  }

  private async functionsOf(gpu: PciAddress, policy: HandoffPolicy): Promise<PciAddress[]> {
    const inventory = await this.inventory('gpus');
    const found = inventory.gpus.find((g) => g.functions.some((f) => f.address === gpu));
    if (!found) throw new HandoffRefused(gpu, [`no GPU at ${gpu}`]);
    if (found.bootVga && !policy.allowBootVga) throw new HandoffRefused(gpu, [`${gpu} is the host's boot VGA with the console on it; set allowBootVga for it in the config to hand it over`]);
    return [...found.functions.map((f) => f.address), ...policy.movablePeers];
  }

  override async claim(gpu: PciAddress, policy: HandoffPolicy): Promise<void> {
    const functions = await this.functionsOf(gpu, policy);
    const drivers = await this.drivers(functions);
    const done: PciAddress[] = [];
    try {
      for (const fn of functions) {
        if (drivers.get(fn) === this.stubDriver) continue;
        await this.xl(['pci-assignable-add', fn]);
        done.push(fn);
      }
    } catch (err) {
      const undone: string[] = [];
      const failed: string[] = [];
      for (const fn of done.reverse()) {
        await this.xl(['pci-assignable-remove', '-r', fn]).then(() => undone.push(fn), (e: Error) => failed.push(e.message));
      }
      throw new HandoffFailed(gpu, 'make the GPU assignable (pciback)', err as Error, undone, failed);
    }
  }

  override async release(gpu: PciAddress, policy: HandoffPolicy): Promise<void> {
    const functions = await this.functionsOf(gpu, { ...policy, allowBootVga: true });
    const drivers = await this.drivers(functions);
    // Function 0 first: the kernel links the other functions to it for power management.
    for (const fn of functions) {
      if (drivers.get(fn) !== this.stubDriver) continue;
      try {
        await this.xl(['pci-assignable-remove', '-r', fn]);
      } catch (err) {
        throw new HandoffFailed(gpu, `give ${fn} back to its host driver`, err as Error);
      }
    }
  }
}
