// The QMP backend against a real nested VM: in L1 (workstation topology) GPU A's two functions are
// claimed to vfio-pci with `baton gpu claim`, a nested QEMU ("L2": TCG, q35, a pcie-root-port with
// pref32-reserve=64M, the tiny kernel) boots, and QmpBackend.attachGpu / detachGpu move the GPU in
// and out of it for real: query-pci shows 1234:1111 and 8086:293e behind the root port, the guest
// kernel enumerates them, and the guest answers device_del (DEVICE_DELETED). Durations are printed.
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { l1BootUnderLoad } from '../lib/l2-boot.js';
import { NestedResults } from '../lib/l2-results.js';
import { REPO_ROOT } from '../lib/paths.js';
import { buildTinyKernel, tinyKernelUnavailable } from '../lib/tiny-kernel.js';
import { workstation } from '../lib/topology.js';

interface PciFn { bus: number; slot: number; function: number; qdevId: string; vendor: number; device: number; parentBridge: string | null }
interface Cycle {
  cycle: number;
  attach: { deviceIds: string[]; guestSlot: { bus: string; slot: number }; verifiedBy: string };
  attachMs: number;
  pciAfterAttach: PciFn[];
  passthroughAfterAttach: string[];
  guestSawMs: number | null;
  guestAfterAttach: string;
  detach: { removed: string[]; alreadyAbsent: string[] };
  detachMs: number;
  detachEvents: { at: number; device: string | null }[];
  pciAfterDetach: PciFn[];
  passthroughAfterDetach: string[];
  guestGoneMs: number | null;
  guestAfterDetach: string;
}
interface CyclesJson { state: { state: string; raw: string }; before: { passthrough: string[] }; cycles: Cycle[]; error?: string }

const CYCLES = 2;
const unavailable = kvmLabUnavailable() ?? tinyKernelUnavailable() ?? buildProject();

const { gpuA, gpuAAudio } = workstation.roles as Record<'gpuA' | 'gpuAAudio', string>;
const behindRootPort = (tree: PciFn[]) => tree.filter((f) => f.parentBridge === 'rp1');

describeOrSkip(unavailable, 'KVM lab: QMP backend moves both GPU functions into and out of a nested VM', () => {
  let r: NestedResults;
  let out: CyclesJson;

  beforeAll(async () => {
    const t0 = Date.now();
    const tiny = await buildTinyKernel();
    process.stdout.write(`[qmp-nested] tiny kernel ready after ${Date.now() - t0} ms (0 when cached)\n`);
    const run = await runInL1({
      name: 'kvm-qmp-nested',
      topology: workstation,
      boot: l1BootUnderLoad,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/qmp-nested-job.sh')],
      env: { GPU_A: gpuA, GPU_A_AUDIO: gpuAAudio, TINY_BZIMAGE: tiny.bzImage, TINY_INITRD: tiny.initrd, CYCLES: String(CYCLES) },
      deadlineMs: 1_200_000,
    });
    r = new NestedResults(run.shareDir);
    const cycles = r.file('cycles.json');
    if (!cycles) throw new Error(`no cycles.json\n${describeRun(run)}`);
    out = JSON.parse(cycles) as CyclesJson;
    const facts = r.facts();
    process.stdout.write(`[qmp-nested] L1 run ${run.qemu.durationMs} ms, L2 boot ${facts.l2BootMs} ms, job status ${run.status}\n`);
    for (const c of out.cycles) {
      process.stdout.write(`[qmp-nested] cycle ${c.cycle}: attachGpu ${c.attachMs} ms (verified by ${c.attach?.verifiedBy}), guest saw both functions after ${c.guestSawMs} ms; ` +
        `detachGpu ${c.detachMs} ms, DEVICE_DELETED at ${c.detachEvents?.map((e) => `${e.device}@${e.at}ms`).join(', ')}, guest lost them after ${c.guestGoneMs} ms\n`);
    }
    if (out.error) throw new Error(`the QMP driver failed: ${out.error}\n${describeRun(run)}`);
    if (run.status !== 0) throw new Error(describeRun(run));
  }, 2_400_000);

  it('claims both functions to vfio-pci from their host drivers with the CLI', () => {
    expect(r.drivers('host')).toEqual({ [gpuA]: 'bochs-drm', [gpuAAudio]: 'snd_hda_intel' });
    expect(r.cmd('claim').rc).toBe(0);
    expect(r.drivers('claimed')).toEqual({ [gpuA]: 'vfio-pci', [gpuAAudio]: 'vfio-pci' });
  });

  it('sees a running guest that holds nothing yet', () => {
    expect(out.state.state).toBe('running');
    expect(out.before.passthrough).toEqual([]);
    expect(out.cycles).toHaveLength(CYCLES);
  });

  it('attachGpu puts VGA 1234:1111 and HDA 8086:293e into one slot behind the root port, confirmed by query-pci', () => {
    for (const c of out.cycles) {
      expect(c.attach.verifiedBy).toBe('pci-tree');
      expect(c.attach.guestSlot).toEqual({ bus: 'rp1', slot: 0 });
      expect(c.attach.deviceIds).toEqual(['baton-gpu-01-00-0', 'baton-gpu-01-00-1']);
      const fns = behindRootPort(c.pciAfterAttach).map((f) => ({ slot: f.slot, fn: f.function, id: f.qdevId, ids: [f.vendor, f.device] }));
      expect(fns).toEqual([
        { slot: 0, fn: 0, id: 'baton-gpu-01-00-0', ids: [0x1234, 0x1111] },
        { slot: 0, fn: 1, id: 'baton-gpu-01-00-1', ids: [0x8086, 0x293e] },
      ]);
      expect([...c.passthroughAfterAttach].sort()).toEqual([gpuA, gpuAAudio]);
    }
  });

  it("the guest kernel enumerates both functions (its own sysfs, reported on its serial console)", () => {
    for (const c of out.cycles) {
      expect(c.guestSawMs, c.guestAfterAttach).not.toBeNull();
      expect(c.guestAfterAttach).toMatch(/=0x1234:0x1111/);
      expect(c.guestAfterAttach).toMatch(/=0x8086:0x293e/);
    }
  });

  it('detachGpu resolves only after the guest released them: DEVICE_DELETED, gone from query-pci, QOM and the guest', () => {
    for (const c of out.cycles) {
      expect([...c.detach.removed].sort()).toEqual([gpuA, gpuAAudio]);
      expect(c.detach.alreadyAbsent).toEqual([]);
      expect(c.detachEvents.map((e) => e.device)).toContain('baton-gpu-01-00-0');
      expect(behindRootPort(c.pciAfterDetach)).toEqual([]);
      expect(c.passthroughAfterDetach).toEqual([]);
      expect(c.guestGoneMs, c.guestAfterDetach).not.toBeNull();
      expect(c.guestAfterDetach).not.toMatch(/0x1234:0x1111/);
    }
  });

  it('the functions stay on vfio-pci while the VM has them, and go back to the host drivers after', () => {
    expect(r.drivers('after')).toEqual({ [gpuA]: 'vfio-pci', [gpuAAudio]: 'vfio-pci' });
    expect(r.facts().l2AliveAfter).toBe('yes');
    expect(r.cmd('release').rc).toBe(0);
    expect(r.drivers('released')).toEqual({ [gpuA]: 'bochs-drm', [gpuAAudio]: 'snd_hda_intel' });
  });
});
