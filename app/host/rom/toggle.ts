// The sysfs ROM sequence: enable (write "1"), read at most `max` bytes, and always disable (write
// "0"), whatever happened to the enable or the read. Self-contained on purpose: the kernel-writer
// child's source is built from this function's text, so the helper runs it off its main thread
// (a ROM read can stall on a sick device); the root CLI runs the same function in-process.
import type { RomFs } from './files.js';

export interface ToggleOutcome {
  data?: Uint8Array;
  /** The enable or the read failed: the errno name and the system's message. */
  failure?: { stage: 'enable' | 'read'; code?: string; message: string };
  /** The "0" could not be written back: the errno name, or the message. */
  disableFailure?: string;
}

export function toggleRom(fs: RomFs, path: string, max: number): ToggleOutcome {
  const CHUNK = 64 * 1024;
  const out: ToggleOutcome = {};
  let stage: 'enable' | 'read' = 'enable';
  try {
    fs.writeFileSync(path, '1');
    stage = 'read';
    const fd = fs.openSync(path, 'r');
    try {
      // fstat gives the BAR size; the kernel returns only the valid image chain, so the read may end early.
      const statSize = fs.fstatSync(fd).size;
      const limit = statSize > 0 ? Math.min(statSize, max) : max;
      const buffer = new Uint8Array(limit);
      let total = 0;
      while (total < limit) {
        const n = fs.readSync(fd, buffer, total, Math.min(CHUNK, limit - total), null);
        if (n === 0) break;
        total += n;
      }
      out.data = buffer.slice(0, total);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    const e = err as { code?: string; message?: string };
    out.failure = { stage, ...(e.code ? { code: e.code } : {}), message: String(e.message ?? err) };
  } finally {
    try {
      fs.writeFileSync(path, '0');
    } catch (err) {
      out.disableFailure = (err as { code?: string }).code ?? String(err);
    }
  }
  return out;
}
