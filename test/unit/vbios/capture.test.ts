// captureRom against a sysfs-shaped temp folder: the bytes, the metadata, and "0" written back on every path.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureRom } from '../../../app/host/rom/capture.js';
import { RomError } from '../../../app/host/rom/errors.js';
import { fakeSysfs, recordingFs, removeTempDirs, tempDir } from './fake-sysfs.js';
import { loadRom } from './rom-fixtures.js';

const VGA = { address: '0000:01:00.0', vendor: 0x1234, device: 0x1111, classCode: 0x030000 };

function captureError(run: () => unknown): RomError {
  try {
    run();
  } catch (err) {
    if (err instanceof RomError) return err;
    throw err;
  }
  throw new Error('expected a RomError');
}

describe('captureRom', () => {
  afterEach(removeTempDirs);

  it('returns the ROM bytes and the sysfs ids, enabling then disabling the ROM', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const { root, romPath } = fakeSysfs({ ...VGA, rom, bootVga: false });
    const fs = recordingFs();
    const capture = captureRom('01:00.0', { sysfsRoot: root, fs });
    expect(Buffer.from(capture.bytes).equals(Buffer.from(rom))).toBe(true);
    expect(capture).toMatchObject({ address: VGA.address, ids: { vendor: VGA.vendor, device: VGA.device, classCode: VGA.classCode }, shadow: false, notes: [] });
    expect(fs.writes).toEqual([{ path: romPath, data: '1' }, { path: romPath, data: '0' }]);
  });

  it('flags the boot VGA device as a shadow copy', () => {
    const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin'), bootVga: true });
    const capture = captureRom(VGA.address, { sysfsRoot: root, fs: recordingFs() });
    expect(capture.shadow).toBe(true);
    expect(capture.notes.join(' ')).toContain('0xC0000');
  });

  it('writes "0" back when the read fails because rom is a directory', () => {
    const { root, romPath } = fakeSysfs({ ...VGA, rom: 'dir' });
    const fs = recordingFs();
    const err = captureError(() => captureRom(VGA.address, { sysfsRoot: root, fs }));
    expect(err.message).toContain(VGA.address);
    expect(err.errno).toBe('EISDIR');
    expect(fs.writes.map((w) => w.data)).toEqual(['1', '0']);
    expect(fs.writes.every((w) => w.path === romPath)).toBe(true);
  });

  for (const [code, words] of [['EIO', 'could not be mapped or its header is invalid'], ['EINVAL', 'not enabled']] as const) {
    it(`maps a read ${code} to a clear message and still writes "0" back`, () => {
      const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin') });
      const fs = recordingFs({ read: code });
      const err = captureError(() => captureRom(VGA.address, { sysfsRoot: root, fs }));
      expect(err.message).toContain(words);
      expect(err.message).toContain(`${VGA.address}`);
      expect(err.errno).toBe(code);
      expect(fs.writes.map((w) => w.data)).toEqual(['1', '0']);
    });
  }

  it('reports a device without a rom file as having no ROM BAR, touching nothing', () => {
    const { root } = fakeSysfs({ ...VGA });
    const fs = recordingFs();
    const err = captureError(() => captureRom(VGA.address, { sysfsRoot: root, fs }));
    expect(err.message).toBe(`${VGA.address} has no ROM BAR (no rom file in sysfs)`);
    expect(fs.writes).toEqual([]);
  });

  it('still tries "0" when the enable itself fails', () => {
    const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin') });
    const fs = recordingFs({ enable: 'EACCES' });
    const err = captureError(() => captureRom(VGA.address, { sysfsRoot: root, fs }));
    expect(err.message).toContain('permission denied');
    expect(fs.writes.map((w) => w.data)).toEqual(['1', '0']);
  });

  it('returns the ROM but notes it when the disable fails', () => {
    const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin') });
    const capture = captureRom(VGA.address, { sysfsRoot: root, fs: recordingFs({ disable: 'EBUSY' }) });
    expect(capture.bytes.length).toBeGreaterThan(0);
    expect(capture.notes.join(' ')).toContain('could not disable');
  });

  it('refuses a malformed address before building any path', () => {
    const fs = recordingFs();
    const err = captureError(() => captureRom('../../../etc', { sysfsRoot: '/nonexistent', fs }));
    expect(err.message).toContain('not a PCI address');
    expect(fs.writes).toEqual([]);
  });

  it('says when there is no such device', () => {
    const { root } = fakeSysfs({ ...VGA });
    const err = captureError(() => captureRom('0000:02:00.0', { sysfsRoot: root, fs: recordingFs() }));
    expect(err.message).toBe('no PCI device at 0000:02:00.0');
  });

  it('reads no more than maxBytes', () => {
    const rom = loadRom('efi-e1000.rom');
    const { root } = fakeSysfs({ ...VGA, rom });
    const capture = captureRom(VGA.address, { sysfsRoot: root, fs: recordingFs(), maxBytes: 4096 });
    expect(capture.bytes.length).toBe(4096);
    expect(Buffer.from(capture.bytes).equals(Buffer.from(rom.subarray(0, 4096)))).toBe(true);
  });

  it('refuses, touching nothing, when a process holds the device through its VFIO cdev (a guest may use the ROM BAR)', () => {
    const { root } = fakeSysfs({ ...VGA, rom: loadRom('vgabios-stdvga.bin') });
    mkdirSync(join(root, 'bus/pci/devices', VGA.address, 'vfio-dev', 'vfio3'), { recursive: true });
    const proc = tempDir('proc');
    mkdirSync(join(proc, '4242', 'fd'), { recursive: true });
    writeFileSync(join(proc, '4242', 'comm'), 'qemu-system-x86\n');
    writeFileSync(join(proc, '4242', 'cmdline'), ['qemu-system-x86_64', '-name', 'guest=win11'].join('\0'));
    symlinkSync('/dev/vfio/devices/vfio3', join(proc, '4242', 'fd', '9'));
    const fs = recordingFs();
    const err = captureError(() => captureRom(VGA.address, { sysfsRoot: root, fs, procRoot: proc }));
    expect(err.errno).toBe('EINUSE');
    expect(err.message).toContain('VM win11');
    expect(fs.writes).toEqual([]);
  });
});
