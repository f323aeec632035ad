// What a handoff needs from the machine: the sysfs tree, a deadline-bound kernel writer, the
// memory of original drivers, and the live-system probes (holders, /dev/vfio, modprobe).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { KernelWriter } from '../kernel/kernel-writer.js';
import { Sysfs } from '../sysfs/sysfs.js';
import { findGroupHolders, type GroupHolder } from '../vfio/holders.js';
import { DriverMemory } from './driver-memory.js';

export interface HandoffContext {
  sysfs: Sysfs;
  writer: KernelWriter;
  memory: DriverMemory;
  /** True when sysfs is the running kernel's: then /proc, /dev/vfio and modprobe apply. */
  live: boolean;
  holders: (group: number) => GroupHolder[];
  loadModule: (name: string) => Promise<void>;
  devVfio: string;
  writeDeadlineMs: number;
}

export function modprobe(name: string, deadlineMs = 30_000): Promise<void> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return Promise.reject(new Error(`${JSON.stringify(name)} is not a module name`));
  return new Promise((done, fail) => {
    execFile('modprobe', [name], { timeout: deadlineMs }, (err, _out, stderr) => {
      if (err) fail(new Error(`modprobe ${name} failed: ${stderr.trim() || err.message}`));
      else done();
    });
  });
}

export function handoffContext(opts: { sysfsRoot?: string; stateDir?: string; writer: KernelWriter; writeDeadlineMs?: number }): HandoffContext {
  const sysfs = new Sysfs(opts.sysfsRoot ?? '/sys');
  const live = resolve(sysfs.root) === '/sys';
  return {
    sysfs,
    writer: opts.writer,
    memory: new DriverMemory(opts.stateDir ?? '/var/lib/baton'),
    live,
    holders: (group) => (live ? findGroupHolders(group) : []),
    loadModule: (name) => modprobe(name),
    devVfio: '/dev/vfio',
    writeDeadlineMs: opts.writeDeadlineMs ?? 10_000,
  };
}
