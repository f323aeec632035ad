// The per-GPU kernel writers against real child processes: a FIFO nobody reads is the stand-in for a
// sysfs write stuck in the kernel (open() for writing blocks until a reader comes).
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { ChildKernelWriter, KernelWriteError, KernelWriterWedged, KernelWriteTimeout } from '../../../app/host/kernel/kernel-writer.js';

const A = '0000:01:00.0' as PciAddress;
const B = '0000:02:00.0' as PciAddress;
const writers: ChildKernelWriter[] = [];
function writer(deadline?: number) {
  const w = new ChildKernelWriter(deadline);
  writers.push(w);
  return w;
}
afterEach(() => writers.splice(0).forEach((w) => w.close()));

const dir = mkdtempSync(join(tmpdir(), 'baton-kw-'));
let fifoCount = 0;
function fifo(): string {
  const path = join(dir, `stuck-${fifoCount++}`);
  execFileSync('mkfifo', [path]);
  return path;
}
/** Opens the FIFO for reading (which lets a blocked writer through) and collects what arrives. */
function drain(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    createReadStream(path, 'utf8').on('data', (d) => (text += d)).on('end', () => resolve(text)).on('error', reject);
  });
}

describe('ChildKernelWriter', () => {
  it('writes the value with a single write and resolves', async () => {
    const path = join(dir, 'driver_override');
    writeFileSync(path, 'old');
    await writer().forGpu(A).write({ path, value: 'vfio-pci' });
    expect(readFileSync(path, 'utf8')).toBe('vfio-pci');
  });

  it('maps a failing write to its errno code and names the file', async () => {
    const err = await writer().forGpu(A).write({ path: join(dir, 'missing', 'unbind'), value: '0000:01:00.0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelWriteError);
    expect((err as KernelWriteError).code).toBe('ENOENT');
    expect((err as Error).message).toContain(join(dir, 'missing', 'unbind'));
  });

  it("a write blocked for GPU A does not hold up GPU B's writes", async () => {
    const w = writer();
    const stuckPath = fifo();
    let aSettled = false;
    const aWrite = w.forGpu(A).write({ path: stuckPath, value: '0000:01:00.0', deadlineMs: 120_000 }).finally(() => (aSettled = true));
    const bPath = join(dir, 'b-blocked');
    await w.forGpu(B).write({ path: bPath, value: 'vfio-pci' });
    await w.forGpu(B).write({ path: bPath, value: 'and-again' });
    expect(readFileSync(bPath, 'utf8')).toBe('and-again');
    expect(aSettled).toBe(false);
    expect(await drain(stuckPath)).toBe('0000:01:00.0');
    await aWrite;
  });

  it('a write that misses its deadline wedges its GPU alone: EWEDGED at once until its child is gone, then it works again', async () => {
    const w = writer();
    const stuckPath = fifo();
    const timeout = (await w.forGpu(A).write({ path: stuckPath, value: '0000:01:00.0', deadlineMs: 300 }).catch((e: unknown) => e)) as KernelWriteTimeout;
    expect(timeout).toBeInstanceOf(KernelWriteTimeout);
    expect(timeout).toMatchObject({ code: 'ETIMEDOUT', wedged: true });
    expect(timeout.message).toContain(stuckPath);
    expect(w.wedged().map((x) => x.gpu)).toEqual([A]);

    const refused = await w.forGpu(A).write({ path: join(dir, 'a-after'), value: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KernelWriterWedged);
    expect((refused as KernelWriterWedged).code).toBe('EWEDGED');
    expect((refused as Error).message).toContain(A);
    expect(() => readFileSync(join(dir, 'a-after'))).toThrow(); // nothing was written

    const bPath = join(dir, 'b-override');
    await w.forGpu(B).write({ path: bPath, value: 'still-works' });
    expect(readFileSync(bPath, 'utf8')).toBe('still-works');
    expect(w.wedged().map((x) => x.gpu)).toEqual([A]);

    // The stuck write lands late (a reader comes): the lane says so, retires the child, and works again.
    const [landed, outcome] = await Promise.all([drain(stuckPath), timeout.settled!]);
    expect(landed).toBe('0000:01:00.0');
    expect(outcome).toEqual({ kind: 'completed' });
    await w.forGpu(A).wedge()?.cleared;
    expect(w.forGpu(A).wedge()).toBeNull();
    const again = join(dir, 'a-again');
    await w.forGpu(A).write({ path: again, value: 'ok' });
    expect(readFileSync(again, 'utf8')).toBe('ok');
  });

  it('a call queued behind a stuck one is never sent, not even after the stuck one lands', async () => {
    const w = writer();
    const stuckPath = fifo();
    const queuedPath = join(dir, 'queued');
    writeFileSync(queuedPath, 'before');
    const first = w.forGpu(A).write({ path: stuckPath, value: '1', deadlineMs: 400 }).catch((e: unknown) => e);
    const second = w.forGpu(A).write({ path: queuedPath, value: 'late', deadlineMs: 60_000 }).catch((e: unknown) => e);
    const [t, q] = (await Promise.all([first, second])) as [KernelWriteTimeout, KernelWriteError];
    expect(t.code).toBe('ETIMEDOUT');
    expect(q.code).toBe('EWEDGED');
    await Promise.all([drain(stuckPath), t.settled]);
    await w.forGpu(A).wedge()?.cleared;
    expect(readFileSync(queuedPath, 'utf8')).toBe('before');
  });

  it('an abandoned wedged lane kills its child: the stuck call is reported as child-gone, and the lane works again', async () => {
    const w = writer();
    const stuckPath = fifo();
    const t = (await w.forGpu(A).write({ path: stuckPath, value: '1', deadlineMs: 300 }).catch((e: unknown) => e)) as KernelWriteTimeout;
    expect(t.wedged).toBe(true);
    const cleared = w.forGpu(A).wedge()!.cleared;
    w.abandon(A);
    expect(await t.settled).toEqual({ kind: 'child-gone' });
    await cleared;
    const path = join(dir, 'after-abandon');
    await w.forGpu(A).write({ path, value: 'ok' });
    expect(readFileSync(path, 'utf8')).toBe('ok');
  });

  it('runs the VFIO hot-reset ioctls in the child (koffi loads there) and maps the failure', async () => {
    const devDir = mkdtempSync(join(tmpdir(), 'baton-devvfio-'));
    const err = await writer().forGpu(A).call({ op: 'hot-reset', group: 7, device: A, devDir }, 10_000, `VFIO hot reset of ${A}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelWriteError);
    expect((err as KernelWriteError).code).toBe('ENOENT'); // open of the container node
    expect((err as Error).message).toContain(`VFIO hot reset of ${A} failed: ENOENT`);
  });
});
