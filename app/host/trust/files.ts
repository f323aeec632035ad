// The one way the helper writes its state files: never through a symbolic link. A new file is
// created with O_EXCL|O_NOFOLLOW (a planted link or file makes the create fail instead of writing
// where it points), an existing one is opened with O_NOFOLLOW, and a replacement is atomic: a temp
// file beside it, fsynced, renamed over (rename replaces a link itself, never its target), then
// the folder fsynced so the rename lasts.
import { closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY, O_RDONLY, O_APPEND, O_DIRECTORY } = constants;
const O_CLOEXEC = 0o2000000;

/** Opens without following a final symbolic link (ELOOP when it is one). */
export function openNoFollow(path: string, flags: number, mode = 0o644): number {
  return openSync(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

/** Creates a new file; EEXIST when anything, a link included, already has the name. */
export function createExclusive(path: string, mode = 0o644): number {
  const fd = openNoFollow(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  fchmodSync(fd, mode); // the umask must not decide the mode
  return fd;
}

/** Opens a log-like file for appending, creating it when missing; never through a link. */
export function openAppendNoFollow(path: string, mode = 0o644): number {
  return openNoFollow(path, O_WRONLY | O_APPEND | O_CREAT, mode);
}

/** Makes the folder's entries (a create or a rename in it) durable. */
export function fsyncDir(dir: string): void {
  const fd = openNoFollow(dir, O_RDONLY | O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/** Replaces `path` so that after a crash it holds the old or the new content, never a mix. */
export function replaceFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = createExclusive(tmp, mode);
    try {
      writeAll(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}
