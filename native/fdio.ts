// read, write and poll on raw file descriptors through koffi, for the input relay's child (its
// loop polls several evdev fds and its stdin in one thread). Loaded on first use.
import koffi from 'koffi';
import { errnoName, libcLibrary } from './libc.js';

interface FdIo {
  read: (fd: number, buf: Buffer, n: number) => number;
  write: (fd: number, buf: Buffer, n: number) => number;
  poll: (fds: Buffer, n: number, timeoutMs: number) => number;
}

let io: FdIo | null = null;
function load(): FdIo {
  if (io) return io;
  const lib = libcLibrary();
  io = {
    read: lib.func('long read(int fd, _Out_ uint8_t *buf, size_t n)') as FdIo['read'],
    write: lib.func('long write(int fd, const uint8_t *buf, size_t n)') as FdIo['write'],
    poll: lib.func('int poll(_Inout_ uint8_t *fds, unsigned long n, int timeout)') as FdIo['poll'],
  };
  return io;
}

export const O_WRONLY = 1;
export const O_NONBLOCK = 0o4000;
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

/** Bytes read, or an errno name ("EAGAIN", "ENODEV") when the read failed. */
export function readFd(fd: number, buf: Buffer): number | string {
  const n = load().read(fd, buf, buf.length);
  return n < 0 ? errnoName(koffi.errno()) : n;
}

export function writeFd(fd: number, buf: Buffer): number | string {
  const n = load().write(fd, buf, buf.length);
  return n < 0 ? errnoName(koffi.errno()) : n;
}

/** poll(2) over fds for POLLIN; returns each fd's revents (0 when nothing happened, or EINTR). */
export function pollFds(fds: readonly number[], timeoutMs: number): number[] {
  const buf = Buffer.alloc(fds.length * 8); // struct pollfd { int fd; short events; short revents; }
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, i * 8);
    buf.writeInt16LE(POLLIN, i * 8 + 4);
  });
  const r = load().poll(buf, fds.length, timeoutMs);
  if (r < 0) return fds.map(() => 0);
  return fds.map((_, i) => buf.readInt16LE(i * 8 + 6));
}
