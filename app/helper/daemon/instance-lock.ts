// One helper per state folder: an exclusive flock on <state>/helper.lock, taken before recovery,
// reconciliation or any device access, and held for the life of the process (the kernel drops it
// when the process dies, however it dies). The file also says which pid holds it.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tryLock, unlock } from '../../../native/flock.js';

export const LOCK_FILE = 'helper.lock';

export interface LockHolder {
  /** From /proc/locks (the kernel's word), else from the lock file. */
  pid: number | null;
  /** /proc/PID/comm, when the process is still there. */
  comm: string | null;
}

/** Another process holds the state folder's lock. */
export class StateFolderLocked extends Error {
  constructor(readonly lockPath: string, readonly holder: LockHolder) {
    super(`another Baton helper holds ${lockPath}${describeHolder(holder)}; stop it first (systemctl stop baton-helper)`);
    this.name = 'StateFolderLocked';
  }
}

export function describeHolder(holder: LockHolder): string {
  if (holder.pid === null) return '';
  return ` (pid ${holder.pid}${holder.comm ? `, ${holder.comm}` : ''})`;
}

export interface InstanceLock {
  path: string;
  release(): void;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The pids /proc/locks names for a FLOCK on this device and inode. */
function kernelHolders(dev: number, ino: number, procRoot: string): number[] {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
  const pids: number[] = [];
  for (const line of (readText(join(procRoot, 'locks')) ?? '').split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks a waiter, which holds nothing)
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f[2] === '->') continue;
    if (f[5]?.toLowerCase() === id && /^\d+$/.test(f[4] ?? '')) pids.push(Number(f[4]));
  }
  return pids;
}

function holderOf(fd: number, procRoot: string): LockHolder {
  const st = fstatSync(fd);
  const fromKernel = kernelHolders(st.dev, st.ino, procRoot);
  let fromFile: number | null = null;
  try {
    const buf = Buffer.alloc(32);
    const text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8').trim();
    if (/^\d+$/.test(text)) fromFile = Number(text);
  } catch {
    // an unreadable pid is no reason not to say the folder is taken
  }
  // The kernel's pid is the holder's; the file may be stale when the holder is not a helper.
  const pid = fromFile !== null && (fromKernel.length === 0 || fromKernel.includes(fromFile)) ? fromFile : (fromKernel[0] ?? fromFile);
  const comm = pid === null ? null : (readText(join(procRoot, String(pid), 'comm'))?.trim() ?? null);
  return { pid, comm };
}

function openLockFile(path: string, create: boolean): number {
  // Node opens every fd close-on-exec, so kernel-writer children never inherit the lock.
  const flags = (create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDONLY) | constants.O_NOFOLLOW;
  const fd = openSync(path, flags, 0o600);
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new Error(`${path} is not a regular file; move it away`);
  }
  return fd;
}

/**
 * Takes the state folder's lock, or throws StateFolderLocked naming who holds it. The folder must
 * exist. Nothing else in the folder is read or written.
 */
export function lockStateFolder(stateDir: string, opts: { procRoot?: string; pid?: number } = {}): InstanceLock {
  const path = join(stateDir, LOCK_FILE);
  const fd = openLockFile(path, true);
  try {
    if (!tryLock(fd, 'exclusive')) throw new StateFolderLocked(path, holderOf(fd, opts.procRoot ?? '/proc'));
    ftruncateSync(fd, 0);
    writeSync(fd, `${opts.pid ?? process.pid}\n`, 0);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      unlock(fd);
      closeSync(fd);
    },
  };
}

/**
 * Whether a helper holds the state folder now (for the root CLI, which must not move a GPU the
 * helper manages). A shared lock is taken to find out and kept by the caller until it is done, so
 * no helper can start in the meantime; null means no helper runs.
 */
export function probeStateFolder(stateDir: string, opts: { procRoot?: string } = {}): { holder: LockHolder | null; release(): void } {
  const path = join(stateDir, LOCK_FILE);
  let fd: number;
  try {
    fd = openLockFile(path, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { holder: null, release: () => {} };
    throw err;
  }
  if (!tryLock(fd, 'shared')) {
    const holder = holderOf(fd, opts.procRoot ?? '/proc');
    closeSync(fd);
    return { holder, release: () => {} };
  }
  return {
    holder: null,
    release() {
      unlock(fd);
      closeSync(fd);
    },
  };
}

/** The helper's state folder: the one its journal is in (the registry sits beside it). */
export function stateFolderOf(config: { helper: { journal: string } }): string {
  return dirname(config.helper.journal);
}
