// `baton inventory --json` against a live kernel: the "workstation" topology booted in L1 with
// bochs-drm, snd-hda-intel and e1000e loaded, the CLI run inside against the real /sys.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { REPO_ROOT } from '../lib/paths.js';
import { workstation } from '../lib/topology.js';

interface FunctionJson { address: string; class: string | null; driver: string | null }
interface GpuJson {
  address: string;
  class: string | null;
  iommuGroup: number | null;
  bootVga: boolean;
  driver: string | null;
  functions: FunctionJson[];
  groupPeers: FunctionJson[];
  assignable: boolean;
  reasons?: { code: string; message: string }[];
  problems: string[];
  monitors: { connector: string; status: string | null; name: string | null }[];
}

const unavailable = kvmLabUnavailable() ?? buildProject();

const roles = workstation.roles as Record<'bootVga' | 'gpuA' | 'gpuAAudio' | 'gpuB' | 'gpuBAudio' | 'nic', string>;

describeOrSkip(unavailable, 'KVM lab: baton inventory on a live kernel (workstation)', () => {
  let gpus: GpuJson[] = [];
  const gpu = (address: string): GpuJson => {
    const found = gpus.find((g) => g.address === address);
    if (!found) throw new Error(`no GPU ${address} in the inventory: ${gpus.map((g) => g.address).join(', ')}`);
    return found;
  };

  beforeAll(async () => {
    const run = await runInL1({
      name: 'kvm-inventory',
      topology: workstation,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/inventory-job.sh'), ...Object.values(roles)],
      deadlineMs: 300_000,
    });
    if (run.status !== 0) throw new Error(describeRun(run));
    gpus = (JSON.parse(readFileSync(join(run.shareDir, 'inventory.json'), 'utf8')) as { gpus: GpuJson[] }).gpus;
  });

  it('lists exactly the three display devices, and not the NIC', () => {
    expect(gpus.map((g) => g.address).sort()).toEqual([roles.bootVga, roles.gpuA, roles.gpuB].sort());
    expect(gpus.flatMap((g) => g.functions.map((f) => f.address))).not.toContain(roles.nic);
  });

  it('marks the host boot VGA as such and refuses to assign it', () => {
    const boot = gpu(roles.bootVga);
    expect(boot.bootVga).toBe(true);
    expect(boot.assignable).toBe(false);
    expect(JSON.stringify([boot.problems, boot.reasons ?? []])).toMatch(/boot.?vga/i);
  });

  it('finds GPU A with its HDMI audio function, bochs-drm, its own group and a QEMU monitor', () => {
    const a = gpu(roles.gpuA);
    expect(a.bootVga).toBe(false);
    expect(a.class).toBe('0x030000');
    expect(a.driver).toBe('bochs-drm');
    expect(a.functions.map((f) => [f.address, f.class, f.driver])).toEqual([
      [roles.gpuA, '0x030000', 'bochs-drm'],
      [roles.gpuAAudio, '0x040300', 'snd_hda_intel'],
    ]);
    expect(a.groupPeers).toEqual([]);
    expect(a.iommuGroup).not.toBeNull();
    expect(a.monitors.map((m) => m.name)).toContain('QEMU Monitor');
    expect(a.monitors.find((m) => m.name === 'QEMU Monitor')?.status).toBe('connected');
  });

  it('finds GPU B (a non-VGA display controller) with its audio function and monitor', () => {
    const b = gpu(roles.gpuB);
    expect(b.class).toBe('0x038000');
    expect(b.driver).toBe('bochs-drm');
    expect(b.functions.map((f) => f.address)).toEqual([roles.gpuB, roles.gpuBAudio]);
    expect(b.groupPeers).toEqual([]);
    expect(b.iommuGroup).not.toBe(gpu(roles.gpuA).iommuGroup);
    expect(b.monitors.map((m) => m.name)).toContain('QEMU Monitor');
  });
});
