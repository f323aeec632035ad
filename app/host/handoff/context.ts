// What a handoff needs from the machine: the sysfs tree, the per-GPU kernel writers, the memory of
// original drivers, the in-use guard, and the live-system probes (/dev/vfio, modprobe).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { Gpu } from '../../domain/inventory/model.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { KernelLane, KernelWriter } from '../kernel/kernel-writer.js';
import { DeviceLockGuard } from '../sysfs/device-locks.js';
import { Sysfs } from '../sysfs/sysfs.js';
import { forcePastHolderBudget, InUseGuard } from '../vfio/holders.js';
import { VgaLockHolders } from '../vga/lock-holder.js';
import { DriverMemory } from './driver-memory.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface HandoffContext {
  sysfs: Sysfs;
  writer: KernelWriter;
  /** Keeps inventory reads off attributes whose lock a GPU's running kernel call may hold. */
  deviceLocks: DeviceLockGuard;
  memory: DriverMemory;
  /** True when sysfs is the running kernel's: then /proc, /dev/vfio and modprobe apply. */
  live: boolean;
  /** Checks that no process holds the GPU's VFIO nodes; null when sysfs is not the running kernel's. */
  guard: InUseGuard | null;
  loadModule: (name: string) => Promise<void>;
  devVfio: string;
  writeDeadlineMs: number;
  /** Who holds the VGA arbiter's lock for each GPU during its handoffs (one long-lived child per GPU). */
  vgaLocks: VgaLockHolders;
}

export function modprobe(name: string, deadlineMs = 30_000): Promise<void> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return Promise.reject(new Error(`${JSON.stringify(name)} is not a module name`));
  return waitedOn(new Promise((done, fail) => {
    execFile('modprobe', [name], { timeout: deadlineMs }, (err, _out, stderr) => {
      if (err) fail(new Error(`modprobe ${name} failed: ${stderr.trim() || err.message}`));
      else done();
    });
  }));
}

export interface HandoffContextOptions {
  sysfsRoot?: string;
  stateDir?: string;
  writer: KernelWriter;
  writeDeadlineMs?: number;
  /** /proc to scan for VFIO holders; giving one turns the in-use guard on for a non-live sysfs (tests). */
  procRoot?: string;
  devVfio?: string;
  /** The environment the test-only override is read from (once, here). */
  env?: NodeJS.ProcessEnv;
}

export function handoffContext(opts: HandoffContextOptions): HandoffContext {
  const sysfs = new Sysfs(opts.sysfsRoot ?? '/sys');
  const live = resolve(sysfs.root) === '/sys';
  const devVfio = opts.devVfio ?? '/dev/vfio';
  const guarded = live || opts.procRoot !== undefined;
  return {
    sysfs,
    writer: opts.writer,
    deviceLocks: new DeviceLockGuard(() => opts.writer.inProgress()),
    memory: new DriverMemory(opts.stateDir ?? '/var/lib/baton'),
    live,
    guard: guarded ? new InUseGuard({ sysfs, procRoot: opts.procRoot ?? '/proc', devVfio, forcePast: forcePastHolderBudget(opts.env) }) : null,
    loadModule: (name) => modprobe(name),
    devVfio,
    writeDeadlineMs: opts.writeDeadlineMs ?? 10_000,
    vgaLocks: new VgaLockHolders(),
  };
}

/**
 * The GPU's own kernel lane, with the in-use check before every call: each unbind, override, bind,
 * reset and ROM access first makes sure no process holds the GPU's VFIO nodes.
 */
export function deviceLane(ctx: HandoffContext, gpu: Pick<Gpu, 'address' | 'iommuGroup' | 'functions'>, peers: readonly PciAddress[] = []): KernelLane {
  const lane = ctx.writer.forGpu(gpu.address);
  const target = { address: gpu.address, iommuGroup: gpu.iommuGroup, functions: [...gpu.functions.map((f) => f.address), ...peers] };
  return {
    gpu: lane.gpu,
    wedge: () => lane.wedge(),
    activity: () => lane.activity(),
    write: async (req) => {
      ctx.guard?.check(target, `write ${JSON.stringify(req.value.trim())} to ${req.path}`);
      return lane.write(req);
    },
    call: async (req, deadlineMs, what) => {
      ctx.guard?.check(target, what);
      return lane.call(req, deadlineMs, what);
    },
  };
}
