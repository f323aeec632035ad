// flock(2) through koffi: Node has no API for advisory file locks. Loaded on first use.
import koffi from 'koffi';
import { describeErrno, errnoName, NativeError } from './libc.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

let flockFn: ((fd: number, operation: number) => number) | null = null;

function flock(): (fd: number, operation: number) => number {
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)') as (fd: number, operation: number) => number;
  return flockFn;
}

/** Takes the lock without waiting: true when taken, false when another open file holds it. */
export function tryLock(fd: number, mode: 'exclusive' | 'shared'): boolean {
  if (flock()(fd, (mode === 'exclusive' ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
  const errno = koffi.errno();
  if (errnoName(errno) === 'EWOULDBLOCK' || errnoName(errno) === 'EAGAIN') return false;
  throw new NativeError('flock', errno, errnoName(errno), describeErrno(errno));
}

export function unlock(fd: number): void {
  flock()(fd, LOCK_UN);
}
