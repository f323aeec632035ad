// A GPU that a nested QEMU really holds, in the KVM lab (issue "Never strand", Done when): the
// helper's config names vm-a with a QMP socket that accepts and never answers, so it cannot ask vm-a (`unknown`)
// while L2 holds GPU A through VFIO.
//  (a) every switch of GPU A, and the root CLI's release and reset, are refused, naming the QEMU
//      process: the kernel-level holder check (/dev/vfio/N open), not the registry; nothing changes.
//  (b) with BATON_TEST_FORCE_PAST_HOLDER=1 the writer unbinds vfio-pci from the held device, a write
//      that blocks in the kernel: GPU A is reported `wedged`, `baton status` keeps answering, and
//      GPU B still switches into vm-b. Killing L2 lets the kernel finish the unbind.
// Job: test/lab/kvm/in-use-job.sh (one L1 boot, guestless L2s only).
import { join } from 'node:path';
import { readFileSync, existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { NestedResults } from '../lib/l2-results.js';
import { REPO_ROOT } from '../lib/paths.js';
import { workstation } from '../lib/topology.js';

interface GpuStatus { name: string; owner: string; [key: string]: unknown }
interface StatusJson { gpus: GpuStatus[]; vms: { name: string; state: string }[] }
interface PciFn { bus: number; slot: number; function: number; vendor: number; device: number; parentBridge: string | null }
interface LookJson { drivers: Record<string, string>; vms: Record<string, { off: boolean; tree: PciFn[] }> }

const unavailable = kvmLabUnavailable() ?? buildProject();
const { gpuA, gpuAAudio, gpuB, gpuBAudio } = workstation.roles as Record<'gpuA' | 'gpuAAudio' | 'gpuB' | 'gpuBAudio', string>;
const VMB_CHECK = '/run/baton-lab/vm-b.check.qmp';

describeOrSkip(unavailable, 'KVM lab: a GPU a nested QEMU holds, behind a wrong QMP socket path', () => {
  let r: NestedResults;
  let l2Pid: string;
  const text = (name: string) => { const c = r.cmd(name); return `${c.out}\n${c.err}`; };
  const status = (name: string) => r.json<StatusJson>(`${name}-status`);
  const gpu = (s: StatusJson, name: string) => s.gpus.find((g) => g.name === name);
  const lines = (file: string) => (existsSync(join(r.dir, file)) ? readFileSync(join(r.dir, file), 'utf8').trim().split('\n').filter(Boolean) : []);
  const realized = (phase: string) => ['gpu-a', 'gpu-a-audio'].map((d) => r.cmd(`${phase}-qom-${d}`).out.trim());

  beforeAll(async () => {
    const run = await runInL1({
      name: 'kvm-in-use',
      topology: workstation,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/in-use-job.sh')],
      env: { GPU_A: gpuA, GPU_A_AUDIO: gpuAAudio, GPU_B: gpuB, GPU_B_AUDIO: gpuBAudio },
      deadlineMs: 1_700_000,
    });
    if (run.status !== 0) throw new Error(describeRun(run));
    r = new NestedResults(run.shareDir);
    l2Pid = r.facts().l2Pid ?? '';
    process.stdout.write(`[kvm in-use] facts: ${JSON.stringify(r.facts())}\n[kvm in-use] stuck writer evidence:\n${lines('processes-b-wedged.txt').filter((l) => /vfio|ppid=(\d+)/.test(l) && !/ S - /.test(l)).slice(0, 20).join('\n')}\n`);
  });

  it('sets up: the config is valid, GPU A is claimed and an L2 QEMU holds its group with both functions realized', () => {
    expect(r.cmd('config-check').rc, text('config-check')).toBe(0);
    expect(r.cmd('claim-a').rc, text('claim-a')).toBe(0);
    expect(l2Pid).toMatch(/^\d+$/);
    expect(realized('start')).toEqual(['true', 'true']);
  });

  describe('(a) vm-a cannot be asked (its socket never answers): unknown, and nothing moves', () => {
    it('status calls vm-a unknown', () => {
      expect(status('a-start').vms.find((v) => v.name === 'vm-a')?.state).toBe('unknown');
    });

    it.each(['a-switch-host', 'a-switch-vm-b'])('%s: the switch is refused', (name) => {
      expect(r.cmd(name).rc, text(name)).not.toBe(0);
    });

    it('nothing changed: both functions on vfio-pci, L2 still holds the group with both devices realized', () => {
      const d = r.drivers('a-after');
      expect([d[gpuA], d[gpuAAudio]]).toEqual(['vfio-pci', 'vfio-pci']);
      expect(lines('holders-a-after.txt')).toContain(l2Pid);
      expect(realized('a-after')).toEqual(['true', 'true']);
    });
  });

  describe('(k) nothing listens at the configured path: the kernel-level holder check refuses, naming the QEMU process', () => {
    it.each(['k-switch-host', 'k-switch-vm-b'])('%s: the switch is refused, naming qemu and its pid', (name) => {
      const c = r.cmd(name);
      expect(c.rc, text(name)).not.toBe(0);
      expect(text(name)).toMatch(/qemu-system/);
      expect(text(name)).toContain(`pid ${l2Pid}`);
    });

    it('the root CLI refuses release and reset too', () => {
      expect(r.cmd('k-cli-release').rc, text('k-cli-release')).not.toBe(0);
      expect(text('k-cli-release')).toContain(`pid ${l2Pid}`);
      expect(r.cmd('k-cli-reset').rc, text('k-cli-reset')).not.toBe(0);
    });

    it('nothing changed: both functions on vfio-pci, L2 still holds the group with both devices realized, GPU B on its host drivers', () => {
      const d = r.drivers('k-after');
      expect([d[gpuA], d[gpuAAudio]]).toEqual(['vfio-pci', 'vfio-pci']);
      expect(d[gpuB]).toBe(r.drivers('initial')[gpuB]);
      expect(d[gpuBAudio]).toBe(r.drivers('initial')[gpuBAudio]);
      expect(lines('holders-k-after.txt')).toContain(l2Pid);
      expect(realized('k-after')).toEqual(['true', 'true']);
      expect(gpu(status('k-after'), 'gpu-a')?.owner).not.toBe('host');
    });
  });

  describe('(b) a kernel write really stuck (forced past the holder check)', () => {
    it('GPU A is reported wedged, and the helper answered every status call meanwhile', () => {
      const facts = r.facts();
      expect(facts.bWedged).toBe('yes');
      for (let i = 1; i <= Number(facts.bPolls); i++) expect(r.cmd(`b-poll-${i}-status`).rc, text(`b-poll-${i}-status`)).toBe(0);
      expect(JSON.stringify(gpu(status(`b-poll-${facts.bPolls}`), 'gpu-a'))).toContain('wedged');
    });

    it('the write is stuck in the kernel: a process of the helper waits inside vfio while L2 holds the device', () => {
      const helperPid = r.facts().helper3Pid;
      const procs = lines('processes-b-wedged.txt').map((l) => l.split(' '));
      const byPid = new Map(procs.map((p) => [p[0], p]));
      const descends = (pid: string | undefined): boolean => {
        for (let p = byPid.get(pid ?? ''), hops = 0; p && hops < 10; p = byPid.get(p[3]?.slice(5) ?? ''), hops++) if (p[0] === helperPid) return true;
        return false;
      };
      const stuck = procs.filter((p) => p[0] !== helperPid && descends(p[0]) && (p[1] === 'D' || /vfio/.test(p[2] ?? '')));
      expect(stuck.map((p) => p.join(' ')), lines('processes-b-wedged.txt').join('\n')).not.toEqual([]);
      expect(lines('holders-b-wedged.txt')).toContain(l2Pid);
    });

    it('GPU B still switches into vm-b, and the helper keeps answering', () => {
      expect(r.cmd('b-switch-gpu-b').rc, text('b-switch-gpu-b')).toBe(0);
      const d = r.drivers('b-gpu-b');
      expect([d[gpuB], d[gpuBAudio]]).toEqual(['vfio-pci', 'vfio-pci']);
      const look = r.json<LookJson>('b-gpu-b-look');
      const vendors = (look.vms[VMB_CHECK]?.tree ?? []).filter((f) => f.parentBridge !== null).map((f) => [f.function, f.vendor]);
      expect(vendors).toEqual([[0, 0x1234], [1, 0x8086]]);
      const after = status('b-after-gpu-b');
      expect(gpu(after, 'gpu-b')?.owner).toBe('vm-b');
      expect(JSON.stringify(gpu(after, 'gpu-a'))).toContain('wedged');
    });

    it('once L2 is gone the kernel finishes the unbind, and the helper still answers', () => {
      expect(r.facts().unbindFinishedMs).toMatch(/^\d+$/);
      expect(r.cmd('end-status').rc, text('end-status')).toBe(0);
    });
  });
});
