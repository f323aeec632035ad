// The inventory never reads a lock-taking attribute (driver_override, config) of a GPU whose kernel
// lane has a call in flight or is wedged: on Linux 6.1 that read waits for the device lock the stuck
// call holds, uninterruptibly, and it would freeze the helper's main thread.
//
// The stand-in for such an attribute is a FIFO with a "tripwire" process waiting to write into it:
// a read of it does not block, it returns the tripwire's text and the tripwire exits. So a read that
// should not have happened shows up as that text and as a tripwire that is gone, and the test fails
// instead of hanging. The stuck kernel call is a real lane write into a FIFO nobody reads.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { RealHost } from '../../../app/helper/adapters/real-host.js';
import { handoffContext } from '../../../app/host/handoff/context.js';
import { readInventory } from '../../../app/host/inventory.js';
import { ChildKernelWriter, KernelWriteTimeout } from '../../../app/host/kernel/kernel-writer.js';
import { RomStore } from '../../../app/host/rom/store.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';

const A = '0000:01:00.0' as PciAddress; // the GPU whose lane is busy; 01:00.1-.3 are its companions
const A_AUDIO = '0000:01:00.1' as PciAddress;
const B = '0000:03:01.0' as PciAddress; // another GPU

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).reverse().forEach((c) => c()));

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-sysfs-locks-'));
  execFileSync('cp', ['-a', `${extractSysfsFixture('dense')}/.`, root]);
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return root;
}
const attr = (root: string, address: string, name: string) => join(root, 'bus/pci/devices', address, name);

/** Turns an attribute into a FIFO that a waiting process answers with `text` when (and only when) someone reads it. */
function tripwire(path: string, text: string): ChildProcess {
  rmSync(path, { force: true });
  execFileSync('mkfifo', [path]);
  return rearm(path, text);
}
function rearm(path: string, text: string): ChildProcess {
  const child = spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'tripwire', text, path], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const exited = (c: ChildProcess) => new Promise<void>((done) => (alive(c) ? c.once('exit', () => done()) : done()));

function context(root: string) {
  const writer = new ChildKernelWriter(60_000);
  cleanups.push(() => writer.close());
  const ctx = handoffContext({ sysfsRoot: root, writer, stateDir: mkdtempSync(join(tmpdir(), 'baton-state-')) });
  return { ctx, writer };
}
/** A real lane call that stays in the kernel: open() of a FIFO for writing blocks until a reader comes. */
function stuckWrite(writer: ChildKernelWriter, gpu: PciAddress, deadlineMs: number): Promise<void> {
  const path = join(mkdtempSync(join(tmpdir(), 'baton-stuck-')), 'unbind');
  execFileSync('mkfifo', [path]);
  return writer.forGpu(gpu).write({ path, value: gpu, deadlineMs });
}

describe('inventory while a GPU has a kernel call in progress', () => {
  it('reads the attribute while the lane is idle, and reports the last known value while a call is in flight', async () => {
    const root = tree();
    const { ctx, writer } = context(root);
    writeFileSync(attr(root, B, 'driver_override'), 'vfio-pci\n');

    const first = tripwire(attr(root, A, 'driver_override'), 'vfio-pci');
    const idle = readInventory({ sysfsRoot: root, pciIds: null, deviceLocks: ctx.deviceLocks });
    expect(idle.functions.find((f) => f.address === A)?.driverOverride).toBe('vfio-pci'); // it was read
    await exited(first);

    void stuckWrite(writer, A, 60_000).catch(() => undefined);
    expect(writer.inProgress().map((c) => [c.gpu, c.wedged])).toEqual([[A, false]]);
    const wire = rearm(attr(root, A, 'driver_override'), 'READ-WHILE-LOCKED');

    const busy = readInventory({ sysfsRoot: root, pciIds: null, deviceLocks: ctx.deviceLocks });
    const a = busy.functions.find((f) => f.address === A)!;
    expect(a.driverOverride).toBe('vfio-pci');
    expect(a.problems.join('\n')).toMatch(/driver_override: not read while a kernel call for 0000:01:00\.0 is in progress .*showing the last known value/);
    expect(busy.functions.find((f) => f.address === A_AUDIO)!.problems.join('\n')).toContain('config: not read while a kernel call for 0000:01:00.0');
    // the other GPU reads normally
    const b = busy.functions.find((f) => f.address === B)!;
    expect(b.driverOverride).toBe('vfio-pci');
    expect(b.problems.join('\n')).not.toContain('not read while');
    expect(alive(wire)).toBe(true); // nobody opened A's driver_override
  });

  it('a wedged lane: status answers with "unknown while a kernel call is in progress", the other GPU reads normally', async () => {
    const root = tree();
    const { ctx, writer } = context(root);
    const wire = tripwire(attr(root, A, 'driver_override'), 'READ-WHILE-WEDGED');
    const configWire = tripwire(attr(root, A, 'config'), 'READ-WHILE-WEDGED');
    const bWire = tripwire(attr(root, B, 'driver_override'), 'vfio-pci');

    await expect(stuckWrite(writer, A, 150)).rejects.toBeInstanceOf(KernelWriteTimeout);
    expect(writer.inProgress().map((c) => [c.gpu, c.wedged])).toEqual([[A, true]]);

    const host = new RealHost(ctx, new RomStore(mkdtempSync(join(tmpdir(), 'baton-roms-'))));
    const inventory = await host.inventory();
    const a = inventory.functions.find((f) => f.address === A)!;
    expect(a.driverOverride).toBeNull();
    expect(a.serial?.dsn).toBeNull();
    expect(a.problems.join('\n')).toMatch(/driver_override: not read while a kernel call for 0000:01:00\.0 is stuck in the kernel since .*unknown while a kernel call is in progress/);
    expect(inventory.functions.find((f) => f.address === B)?.driverOverride).toBe('vfio-pci'); // read: its tripwire answered
    await exited(bWire);
    expect(alive(wire)).toBe(true);
    expect(alive(configWire)).toBe(true);

    // once the stuck child is gone, the attribute is read again
    writer.abandon(A);
    await writer.wedged()[0]?.cleared;
    expect(writer.inProgress()).toEqual([]);
    rearm(attr(root, B, 'driver_override'), 'vfio-pci');
    const after = await host.inventory();
    expect(after.functions.find((f) => f.address === A)?.driverOverride).toBe('READ-WHILE-WEDGED');
  });
});
