// A temp folder laid out like /sys for one PCI function, and an fs that records the rom enable/disable writes.
import * as fs from 'node:fs';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RomFs } from '../../../app/host/rom/files.js';

export interface FakeDevice {
  address: string;
  vendor: number;
  device: number;
  classCode: number;
  bootVga?: boolean;
  /** Bytes of the rom file; 'dir' makes `rom` a directory (reads fail); undefined: no rom file. */
  rom?: Uint8Array | 'dir';
}

const created: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `baton-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every folder tempDir made; call from afterEach. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Returns the sysfs root and the path of the device's rom file. */
export function fakeSysfs(dev: FakeDevice): { root: string; romPath: string } {
  const root = tempDir('sysfs');
  const dir = join(root, 'bus/pci/devices', dev.address);
  mkdirSync(dir, { recursive: true });
  const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}\n`;
  writeFileSync(join(dir, 'vendor'), hex(dev.vendor, 4));
  writeFileSync(join(dir, 'device'), hex(dev.device, 4));
  writeFileSync(join(dir, 'class'), hex(dev.classCode, 6));
  if (dev.bootVga !== undefined) writeFileSync(join(dir, 'boot_vga'), dev.bootVga ? '1\n' : '0\n');
  const romPath = join(dir, 'rom');
  if (dev.rom === 'dir') mkdirSync(romPath);
  else if (dev.rom) writeFileSync(romPath, dev.rom);
  return { root, romPath };
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

export interface RecordingFs extends RomFs {
  /** Every string written to a sysfs attribute, in order ("1", "0"). */
  writes: { path: string; data: string }[];
}

/**
 * Real reads; writes are recorded and not performed, because writing "1" into a regular file would
 * replace the ROM it holds. Failures can be injected per step.
 */
export function recordingFs(fail: { enable?: string; read?: string; disable?: string } = {}): RecordingFs {
  const writes: RecordingFs['writes'] = [];
  return {
    writes,
    openSync: (path, flags) => fs.openSync(path, flags),
    fstatSync: (fd) => fs.fstatSync(fd),
    readSync: (fd, buffer, offset, length, position) => {
      if (fail.read) throw errno(fail.read);
      return fs.readSync(fd, buffer, offset, length, position);
    },
    closeSync: (fd) => fs.closeSync(fd),
    writeFileSync: (path, data) => {
      writes.push({ path, data });
      if (data === '1' && fail.enable) throw errno(fail.enable);
      if (data === '0' && fail.disable) throw errno(fail.disable);
    },
  };
}
