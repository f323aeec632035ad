// Bounded reads (sysfs binary files have no useful end-of-file size) and atomic writes (temp + rename).
import * as nodeFs from 'node:fs';
import { replaceFileAtomic } from '../trust/files.js';
import { RomError, errnoOf } from './errors.js';

/** The few fs calls a ROM read or the sysfs toggles need; tests substitute a recording fake. */
export interface RomFs {
  openSync(path: string, flags: string): number;
  fstatSync(fd: number): { size: number; isFile(): boolean };
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  closeSync(fd: number): void;
  writeFileSync(path: string, data: string): void;
}

export const realFs: RomFs = nodeFs;

/** ROM BARs are at most a few MiB; anything larger is not a ROM. */
export const MAX_ROM_BYTES = 32 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * Reads at most `max` bytes, stopping at end of file. For a sysfs `rom`, fstat gives the BAR size and
 * the kernel returns only the valid image chain, so the read ends early.
 * Returns the bytes and whether more data remained past `max`.
 */
export function readBounded(path: string, max: number, fs: RomFs = realFs): { bytes: Uint8Array; overflow: boolean } {
  const fd = fs.openSync(path, 'r');
  try {
    const statSize = fs.fstatSync(fd).size;
    const limit = statSize > 0 ? Math.min(statSize, max) : max;
    const buffer = new Uint8Array(limit + 1);
    let total = 0;
    while (total <= limit) {
      const n = fs.readSync(fd, buffer, total, Math.min(CHUNK, limit + 1 - total), null);
      if (n === 0) break;
      total += n;
    }
    return { bytes: buffer.slice(0, Math.min(total, limit)), overflow: total > limit && limit === max };
  } finally {
    fs.closeSync(fd);
  }
}

/** A user-named ROM file, read with a size cap and clear errors. */
export function readRomFile(path: string, max = MAX_ROM_BYTES): Uint8Array {
  try {
    if (!nodeFs.statSync(path).isFile()) throw new RomError(`${path} is not a regular file`);
    const { bytes, overflow } = readBounded(path, max);
    if (overflow) throw new RomError(`${path} is larger than ${max} bytes: not an option ROM`);
    return bytes;
  } catch (err) {
    if (err instanceof RomError) throw err;
    const code = errnoOf(err);
    if (code === 'ENOENT') throw new RomError(`${path}: no such file`, [], code);
    if (code === 'EACCES' || code === 'EPERM') throw new RomError(`${path}: permission denied`, [], code);
    throw new RomError(`${path}: cannot read (${code ?? String(err)})`, [], code);
  }
}

/** Writes a file so readers see the old or the new content, never half of it (never through a link). */
export function writeAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  replaceFileAtomic(path, data, mode);
}
