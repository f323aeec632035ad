// The helper's ROM read runs in the GPU's kernel-writer child: the same enable/read/disable sequence,
// while the main thread keeps running. A FIFO as the sysfs `rom` file makes each step wait for the
// test, so the read is slow for as long as the test wants, with no timing in the assertions.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { ChildKernelWriter } from '../../../app/host/kernel/kernel-writer.js';
import { captureRomInLane } from '../../../app/host/rom/capture.js';
import { RomError } from '../../../app/host/rom/errors.js';
import { fakeSysfs, removeTempDirs } from './fake-sysfs.js';
import { loadRom } from './rom-fixtures.js';

const VGA = { address: '0000:01:00.0', vendor: 0x1234, device: 0x1111, classCode: 0x030000 };
const writers: ChildKernelWriter[] = [];
afterEach(() => {
  writers.splice(0).forEach((w) => w.close());
  removeTempDirs();
});
function lane() {
  const w = new ChildKernelWriter();
  writers.push(w);
  return w.forGpu(VGA.address as PciAddress);
}
const readAll = (path: string) => new Promise<string>((resolve, reject) => {
  let text = '';
  createReadStream(path, 'utf8').on('data', (d) => (text += d)).on('end', () => resolve(text)).on('error', reject);
});
const writeAll = (path: string, data: Uint8Array) => new Promise<void>((resolve, reject) => {
  createWriteStream(path).on('error', reject).on('close', () => resolve()).end(data);
});

describe('captureRomInLane', () => {
  it('reads the ROM in the child, enabling then disabling it, while the main thread keeps ticking', async () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const { root, romPath } = fakeSysfs({ ...VGA, rom: new Uint8Array(0) });
    rmSync(romPath);
    execFileSync('mkfifo', [romPath]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const capture = captureRomInLane(VGA.address, lane(), { sysfsRoot: root });
      // The child blocks in each step until the test plays the kernel's part.
      const enable = await readAll(romPath);
      const ticksWhileEnabling = ticks;
      await writeAll(romPath, rom);
      const disable = await readAll(romPath);
      const result = await capture;
      expect(enable).toBe('1');
      expect(disable).toBe('0');
      expect(Buffer.from(result.bytes).equals(Buffer.from(rom))).toBe(true);
      expect(result.ids).toEqual({ vendor: VGA.vendor, device: VGA.device, classCode: VGA.classCode });
      // The interval ran while the child was blocked: the helper's thread was free.
      expect(ticksWhileEnabling).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  });

  it('maps a failed read in the child to the same RomError as in-process, and still writes "0"', async () => {
    const { root } = fakeSysfs({ ...VGA, rom: 'dir' });
    const err = await captureRomInLane(VGA.address, lane(), { sysfsRoot: root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RomError);
    // writing "1" into a directory fails first: the enable stage
    expect((err as RomError).errno).toBe('EISDIR');
    expect((err as Error).message).toContain(VGA.address);
  });

  it('a ROM read that misses its deadline wedges the lane and says so', async () => {
    const { root, romPath } = fakeSysfs({ ...VGA, rom: new Uint8Array(0) });
    rmSync(romPath);
    execFileSync('mkfifo', [romPath]);
    const l = lane();
    const err = await captureRomInLane(VGA.address, l, { sysfsRoot: root, deadlineMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RomError);
    expect((err as RomError).errno).toBe('ETIMEDOUT');
    expect((err as Error).message).toContain(`reading the ROM of ${VGA.address}`);
    expect(l.wedge()?.stuck).toContain('reading the ROM');
  });
});
