// Copies parts of a live sysfs into a folder that mirrors /sys: attribute contents as files (with
// their modes, so write-only attributes exist as empty files), symlinks as the same relative
// symlinks, directories recursively. Every read has a timeout, so a blocking attribute is skipped
// instead of hanging the capture.
import { lstat, mkdir, open, readdir, readlink, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export interface CopyReport {
  files: number;
  links: number;
  skipped: string[];
}

const READ_TIMEOUT_MS = 3000;
/** Binary attributes larger than this are left out (rom is read separately, see readRom). */
const MAX_FILE_BYTES = 1 << 20;

/** Kernel internals that do not describe devices: section addresses, ELF notes. */
const SKIP_DIRS = new Set(['sections', 'notes']);

/** Reads until end of file (sysfs hands out at most a page per read), giving up after the timeout. */
async function readWithTimeout(path: string): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`read timed out after ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
  });
  const read = async (): Promise<Buffer> => {
    const file = await open(path, 'r');
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const chunk = Buffer.alloc(65536);
        const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) return Buffer.concat(chunks);
        chunks.push(chunk.subarray(0, bytesRead));
      }
    } finally {
      await file.close();
    }
  };
  try {
    return await Promise.race([read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function writeAttribute(path: string, data: Buffer, mode: number): Promise<void> {
  await writeFile(path, data);
  await chmod(path, mode & 0o777);
}

export class SysfsCopier {
  readonly report: CopyReport = { files: 0, links: 0, skipped: [] };

  /** sysRoot is normally "/sys"; outRoot receives the mirror. */
  constructor(private readonly sysRoot: string, private readonly outRoot: string) {}

  private out(path: string): string {
    return join(this.outRoot, relative(this.sysRoot, path));
  }

  /** Copies `path` (a directory, file or symlink under sysRoot) and, for directories, everything below. */
  async copy(path: string): Promise<void> {
    const st = await lstat(path);
    const name = path.slice(path.lastIndexOf('/') + 1);
    const target = this.out(path);
    await mkdir(dirname(target), { recursive: true });
    if (st.isSymbolicLink()) {
      const link = await readlink(path);
      // sysfs links are relative; keep them so they resolve inside the mirror.
      await symlink(link.startsWith('/') ? relative(dirname(path), join(this.sysRoot, relative('/sys', link))) : link, target).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      this.report.links++;
    } else if (st.isDirectory()) {
      if (SKIP_DIRS.has(name)) return;
      await mkdir(target, { recursive: true });
      for (const entry of await readdir(path)) await this.copy(join(path, entry));
    } else if (st.isFile()) {
      await this.copyFile(path, name, st.mode, st.size, target);
    }
  }

  private async copyFile(path: string, name: string, mode: number, size: number, target: string): Promise<void> {
    if (/^resource\d+(_wc)?$/.test(name)) return; // BAR mmap files: huge, and they touch device memory
    const readable = (mode & 0o444) !== 0;
    // Write-only attributes (bind, unbind, remove, reset...) and the ROM (see copyRom) keep their
    // place as empty files; VPD can block on devices that do not implement it.
    if (!readable || name === 'rom' || name === 'vpd' || size > MAX_FILE_BYTES) {
      await writeAttribute(target, Buffer.alloc(0), mode);
      if (readable && name !== 'rom') this.report.skipped.push(`${path}: not read (${size} bytes)`);
      return;
    }
    try {
      await writeAttribute(target, await readWithTimeout(path), mode);
      this.report.files++;
    } catch (err) {
      // Attributes whose read fails (EIO, ENODEV, EINVAL...) exist, but have no content to copy.
      await writeAttribute(target, Buffer.alloc(0), mode);
      this.report.skipped.push(`${path}: ${(err as Error).message}`);
    }
  }

  /** Reads a PCI device's option ROM the way the kernel allows: enable, read, disable. */
  async copyRom(deviceDir: string): Promise<boolean> {
    const rom = join(deviceDir, 'rom');
    try {
      await writeFile(rom, '1');
      try {
        const data = await readWithTimeout(rom);
        const st = await lstat(rom);
        await writeAttribute(this.out(rom), data, st.mode);
        return data.length > 0;
      } finally {
        await writeFile(rom, '0');
      }
    } catch (err) {
      this.report.skipped.push(`${rom}: ${(err as Error).message}`);
      return false;
    }
  }
}
