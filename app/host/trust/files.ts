// The one way the helper writes its state files: never through a symbolic link. A new file is
// created with O_EXCL|O_NOFOLLOW (a planted link or file makes the create fail instead of writing
// where it points), an existing one is opened with O_NOFOLLOW, and a replacement is atomic: a temp
// file beside it, fsynced, renamed over (rename replaces a link itself, never its target), then
// the folder fsynced so the rename lasts.
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { getXattrFd } from '../../../native/libc.js';
import { ACL_ACCESS_XATTR } from './acl.js';
import { describeProblem, nodeProblems } from './paths.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY, O_RDONLY, O_APPEND, O_DIRECTORY } = constants;
const O_CLOEXEC = 0o2000000;

/** Opens without following a final symbolic link (ELOOP when it is one). */
export function openNoFollow(path: string, flags: number, mode = 0o644): number {
  return openSync(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

/** A state file the helper must not read: a link, not a regular file, or one someone else could have written. */
export class StateFileError extends Error {
  readonly code = 'EUNTRUSTED';
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

function aclOfFd(fd: number): Buffer | null {
  try {
    return getXattrFd(fd, ACL_ACCESS_XATTR);
  } catch {
    return null; // a filesystem without xattrs has no ACLs
  }
}

/**
 * The one way the helper reads a state file (history, registry, journals, driver and monitor
 * memory): opened without following a final link (O_NONBLOCK, so a planted FIFO cannot hang it),
 * then judged by fstat and the ACL of that very descriptor: a regular file, owned by root (or the
 * helper's own uid) and writable by no one else. What is checked is what is read. Throws the errno
 * error (ENOENT when missing) or a StateFileError naming the path and what is wrong.
 */
export function readStateFile(path: string, owners: readonly number[] = ownUid()): Buffer {
  return withTrustedFile(path, owners, (fd) => readFileSync(fd));
}

/**
 * The same judgement as readStateFile without reading the file: for a file whose path the helper
 * hands on (a stored ROM goes to the hypervisor by path). Throws as readStateFile does.
 */
export function checkStateFile(path: string, owners: readonly number[] = ownUid()): void {
  withTrustedFile(path, owners, () => undefined);
}

function withTrustedFile<T>(path: string, owners: readonly number[], use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openNoFollow(path, O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new StateFileError(path, `${path} is a symbolic link: the helper never reads its state through a link`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new StateFileError(path, `${path} is not a regular file`);
    const problems = nodeProblems(path, st, { access: aclOfFd(fd) }, { owners });
    if (problems.length) throw new StateFileError(path, `${problems.map(describeProblem).join('; ')}: the helper does not trust it`);
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/** Root, and the helper's own uid when it is not root (--simulate). */
function ownUid(): number[] {
  const uid = process.geteuid?.() ?? 0;
  return uid === 0 ? [] : [uid];
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
