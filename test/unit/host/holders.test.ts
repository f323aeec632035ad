// The in-use check at the kernel's level: a fake /proc tree for the shapes (group node, device cdev,
// libvirt's -name guest=), the real /proc with a real child process holding a file open, and the
// handoff and reset refusing on a captured sysfs tree with the GPU on vfio-pci, touching nothing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { handoffContext } from '../../../app/host/handoff/context.js';
import { HandoffRefused } from '../../../app/host/handoff/errors.js';
import { releaseGpu } from '../../../app/host/handoff/release.js';
import { ChildKernelWriter } from '../../../app/host/kernel/kernel-writer.js';
import { ResetFailed, resetGpu } from '../../../app/host/reset/reset.js';
import { Sysfs } from '../../../app/host/sysfs/sysfs.js';
import { DeviceInUse, describeHolders, findGroupHolders, findHolders, forcePastHolderBudget, InUseGuard, tryOpenGroup, vfioNodesOf, vmNameFromArgv, type GroupOpen } from '../../../app/host/vfio/holders.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';

function fakeProc(processes: { pid: number; comm: string; argv: string[]; fds: string[] }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-proc-'));
  for (const p of processes) {
    mkdirSync(join(root, String(p.pid), 'fd'), { recursive: true });
    writeFileSync(join(root, String(p.pid), 'comm'), `${p.comm}\n`);
    writeFileSync(join(root, String(p.pid), 'cmdline'), p.argv.join('\0') + '\0');
    p.fds.forEach((target, i) => symlinkSync(target, join(root, String(p.pid), 'fd', String(i))));
  }
  mkdirSync(join(root, 'self'));
  return root;
}

const GPU = '0000:01:00.0' as PciAddress;
const AUDIO = '0000:01:00.1' as PciAddress;

/** A copy of the captured tree where the GPU (group 8, cdev vfio0) sits on vfio-pci. */
function vfioTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-sysfs-vfio-'));
  execFileSync('cp', ['-a', `${extractSysfsFixture('workstation-vfio')}/.`, root]);
  return root;
}

const writers: ChildKernelWriter[] = [];
afterEach(() => writers.splice(0).forEach((w) => w.close()));
function context(sysfsRoot: string, procRoot: string, env: NodeJS.ProcessEnv = {}) {
  const writer = new ChildKernelWriter(5_000);
  writers.push(writer);
  return handoffContext({ sysfsRoot, procRoot, env, writer, stateDir: mkdtempSync(join(tmpdir(), 'baton-state-')) });
}

describe('VFIO holders', () => {
  it('finds the process holding /dev/vfio/N and the VM it runs', () => {
    const proc = fakeProc([
      { pid: 4242, comm: 'qemu-system-x86', argv: ['qemu-system-x86_64', '-name', 'guest=win11,debug-threads=on', '-device', 'vfio-pci,host=0000:01:00.0'], fds: ['/dev/null', '/dev/vfio/vfio', '/dev/vfio/12'] },
      { pid: 77, comm: 'bash', argv: ['bash'], fds: ['/dev/pts/0'] },
      { pid: 78, comm: 'other-vm', argv: ['qemu-system-x86_64', '-name', 'linux'], fds: ['/dev/vfio/13'] },
    ]);
    const holders = findGroupHolders(12, proc);
    expect(holders).toHaveLength(1);
    expect(holders[0]).toMatchObject({ pid: 4242, command: 'qemu-system-x86', vmName: 'win11', node: '/dev/vfio/12' });
    expect(describeHolders(holders)).toBe('qemu-system-x86 (pid 4242, VM win11) holds /dev/vfio/12');
    expect(findGroupHolders(14, proc)).toEqual([]);
  });

  it('takes the VM name from -name in either form', () => {
    expect(vmNameFromArgv(['qemu', '-name', 'guest=vm-a,debug-threads=on'])).toBe('vm-a');
    expect(vmNameFromArgv(['qemu', '-name', 'vm-b'])).toBe('vm-b');
    expect(vmNameFromArgv(['qemu', '-m', '128'])).toBeNull();
    expect(() => findGroupHolders(-3)).toThrow(RangeError);
  });

  it("lists the group node and each function's VFIO device cdev from sysfs", () => {
    const sysfs = new Sysfs(extractSysfsFixture('workstation-vfio'));
    const nodes = vfioNodesOf(sysfs, 8, [GPU, AUDIO]);
    expect(nodes).toContainEqual({ path: '/dev/vfio/8', address: null });
    expect(nodes).toContainEqual({ path: '/dev/vfio/devices/vfio0', address: GPU });
  });

  it('finds a real process holding a file open in the real /proc (the file stands in for the group node)', async () => {
    const node = join(mkdtempSync(join(tmpdir(), 'baton-node-')), '8');
    writeFileSync(node, '');
    const child = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(node)}, 'r'); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`, '--', '-name', 'guest=win11,debug-threads=on'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the holding process exited (${code})`)));
      });
      const holders = findHolders([node]);
      expect(holders.map((h) => h.pid)).toEqual([child.pid]);
      expect(holders[0]).toMatchObject({ command: 'node', vmName: 'win11', node });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(findHolders([node])).toEqual([]);
  });

  it('the guard refuses with EINUSE naming the address, the group, the pid, the command and the VM; the test-only budget lets N calls past', () => {
    const sysfs = new Sysfs(extractSysfsFixture('workstation-vfio'));
    const proc = fakeProc([{ pid: 900, comm: 'qemu-system-x86', argv: ['qemu-system-x86_64', '-name', 'guest=win11'], fds: ['/dev/vfio/devices/vfio0'] }]);
    const target = { address: GPU, iommuGroup: 8, functions: [GPU, AUDIO] };
    const err = (() => {
      try {
        new InUseGuard({ sysfs, procRoot: proc, devVfio: '/dev/vfio', forcePast: 0 }).check(target, 'reset');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(DeviceInUse);
    expect(err).toMatchObject({ code: 'EINUSE', address: GPU, group: 8 });
    for (const word of [GPU, 'IOMMU group 8', 'pid 900', 'qemu-system-x86', 'VM win11', '/dev/vfio/devices/vfio0']) expect((err as Error).message).toContain(word);

    expect(forcePastHolderBudget({ BATON_TEST_FORCE_PAST_HOLDER: '1' })).toBe(1);
    expect(forcePastHolderBudget({ BATON_TEST_FORCE_PAST_HOLDER: 'yes' })).toBe(0);
    expect(forcePastHolderBudget({})).toBe(0);
    const warnings: string[] = [];
    const forced = new InUseGuard({ sysfs, procRoot: proc, devVfio: '/dev/vfio', forcePast: 1, warn: (l) => warnings.push(l) });
    expect(() => forced.check(target, 'reset')).not.toThrow();
    expect(warnings.join('')).toContain('BATON_TEST_FORCE_PAST_HOLDER');
    expect(() => forced.check(target, 'reset')).toThrow(DeviceInUse);
  });
});

describe("the kernel's exclusive open of the group node, asked before the /proc walk", () => {
  /** The captured tree without the functions' device cdevs (a kernel without VFIO_DEVICE_CDEV). */
  function groupOnlyTree(): string {
    const root = vfioTree();
    for (const f of [GPU, AUDIO]) rmSync(join(root, 'bus/pci/devices', f, 'vfio-dev'), { recursive: true, force: true });
    return root;
  }
  const holder = (node: string) => fakeProc([{ pid: 900, comm: 'qemu-system-x86', argv: ['qemu-system-x86_64', '-name', 'guest=win11'], fds: [node] }]);
  const target = { address: GPU, iommuGroup: 8, functions: [GPU, AUDIO] };
  const guard = (root: string, proc: string, answer: GroupOpen, asked: string[]) =>
    new InUseGuard({ sysfs: new Sysfs(root), procRoot: proc, devVfio: '/dev/vfio', forcePast: 0, tryOpen: (p) => (asked.push(p), answer) });

  it('opens a character device and closes it; no node is free; a file, a folder or a link says nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-open-'));
    writeFileSync(join(dir, 'file'), '');
    symlinkSync('/dev/null', join(dir, 'link'));
    expect(tryOpenGroup('/dev/null')).toBe('free');
    expect(tryOpenGroup(join(dir, 'absent'))).toBe('free');
    expect(tryOpenGroup(join(dir, 'file'))).toBe('unknown');
    expect(tryOpenGroup(dir)).toBe('unknown');
    expect(tryOpenGroup(join(dir, 'link'))).toBe('unknown');
  });

  it('every group node opens: nobody holds the GPU, and /proc is not walked', () => {
    const asked: string[] = [];
    // The fake /proc says a process holds the node: the kernel's word wins, so the walk never ran.
    expect(() => guard(groupOnlyTree(), holder('/dev/vfio/8'), 'free', asked).check(target, 'reset')).not.toThrow();
    expect(asked).toEqual(['/dev/vfio/8']);
  });

  it.each(['busy', 'unknown'] as const)('a node that is %s: the walk decides, and names the holder', (answer) => {
    const asked: string[] = [];
    const err = (() => { try { guard(groupOnlyTree(), holder('/dev/vfio/8'), answer, asked).check(target, 'reset'); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(DeviceInUse);
    expect((err as Error).message).toContain('pid 900');
    expect(asked).toEqual(['/dev/vfio/8']);
  });

  it('with device cdevs (opened without exclusion) only the walk is asked', () => {
    const asked: string[] = [];
    expect(() => guard(vfioTree(), holder('/dev/vfio/devices/vfio0'), 'free', asked).check(target, 'reset')).toThrow(DeviceInUse);
    expect(asked).toEqual([]);
  });

  it('is on by default only for the real /proc', () => {
    // A fake /proc with a holder and no group node on this machine: the walk still finds it.
    const proc = holder('/dev/vfio/8');
    expect(() => new InUseGuard({ sysfs: new Sysfs(groupOnlyTree()), procRoot: proc, devVfio: '/dev/vfio', forcePast: 0 }).check(target, 'reset')).toThrow(DeviceInUse);
  });
});

describe('handoff and reset refuse a GPU a process holds, and touch nothing', () => {
  const holding = (node: string) => fakeProc([{ pid: 4242, comm: 'qemu-system-x86', argv: ['/usr/bin/qemu-system-x86_64', '-name', 'guest=win11,debug-threads=on'], fds: ['/dev/vfio/vfio', node] }]);

  it('release: the group node held (a VM whose QMP socket the config gets wrong) refuses with EINUSE before the unbind', async () => {
    const root = vfioTree();
    const ctx = context(root, holding('/dev/vfio/8'));
    const unbind = join(root, 'bus/pci/drivers/vfio-pci/unbind');
    const err = await releaseGpu(ctx, GPU, { movablePeers: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandoffRefused);
    expect((err as HandoffRefused).code).toBe('EINUSE');
    expect((err as Error).message).toContain('VM win11');
    expect(readFileSync(unbind, 'utf8')).toBe('');
    expect(readFileSync(join(root, 'bus/pci/devices', GPU, 'driver_override'), 'utf8')).toBe(readFileSync(join(extractSysfsFixture('workstation-vfio'), 'bus/pci/devices', GPU, 'driver_override'), 'utf8'));
  });

  it('reset: only the iommufd device cdev held still refuses with EINUSE, and the reset file is never written', async () => {
    const root = vfioTree();
    const ctx = context(root, holding('/dev/vfio/devices/vfio0'));
    const reset = join(root, 'bus/pci/devices', GPU, 'reset');
    const before = statSync(reset).size;
    const err = await resetGpu(ctx, GPU, 'auto').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResetFailed);
    expect((err as ResetFailed).code).toBe('EINUSE');
    expect((err as Error).message).toContain('pid 4242');
    expect(statSync(reset).size).toBe(before);
  });

  it('with the test-only override read at context creation, one call goes past the check', async () => {
    const root = vfioTree();
    const ctx = context(root, holding('/dev/vfio/8'), { BATON_TEST_FORCE_PAST_HOLDER: '1' });
    const unbind = join(root, 'bus/pci/drivers/vfio-pci/unbind');
    const err = await releaseGpu(ctx, GPU, { movablePeers: [] }).catch((e: unknown) => e);
    // The first unbind went through (the fake tree records it); the next call was refused.
    expect(readFileSync(unbind, 'utf8')).toBe(GPU);
    expect((err as { code?: string }).code).toBe('EINUSE');
  });
});
