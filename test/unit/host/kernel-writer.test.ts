import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildKernelWriter, KernelWriteError, KernelWriteTimeout } from '../../../app/host/kernel/kernel-writer.js';

const writers: ChildKernelWriter[] = [];
function writer(deadline?: number) {
  const w = new ChildKernelWriter(deadline);
  writers.push(w);
  return w;
}
afterEach(() => writers.splice(0).forEach((w) => w.close()));

describe('ChildKernelWriter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-kw-'));

  it('writes the value with a single write and resolves', async () => {
    const path = join(dir, 'driver_override');
    writeFileSync(path, 'old');
    await writer().write({ path, value: 'vfio-pci' });
    expect(readFileSync(path, 'utf8')).toBe('vfio-pci');
  });

  it('maps a failing write to its errno code and names the file', async () => {
    const err = await writer().write({ path: join(dir, 'missing', 'unbind'), value: '0000:01:00.0' }).catch((e) => e);
    expect(err).toBeInstanceOf(KernelWriteError);
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(join(dir, 'missing', 'unbind'));
  });

  it('gives up on a write the kernel never answers, and the next write still works', async () => {
    // A FIFO with no reader blocks open() forever: the stand-in for a sysfs write stuck in the kernel.
    const fifo = join(dir, 'stuck');
    execFileSync('mkfifo', [fifo]);
    const w = writer();
    const err = await w.write({ path: fifo, value: '1', deadlineMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(KernelWriteTimeout);
    expect(err.message).toContain(fifo);
    const path = join(dir, 'after');
    await w.write({ path, value: 'ok' });
    expect(readFileSync(path, 'utf8')).toBe('ok');
  });
});
