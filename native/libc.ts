// libc through koffi: the few calls Node has no API for (ioctl, getsockopt). Loaded on first
// use, so code that never needs them never loads a native module.
import koffi, { type LibraryHandle } from 'koffi';

interface Libc {
  open: (path: string, flags: number) => number;
  close: (fd: number) => number;
  ioctl: (fd: number, request: number, ...typedArgs: unknown[]) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  fgetxattr: (fd: number, name: string, value: Buffer | null, size: number) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
}

let libc: Libc | null = null;

let library: LibraryHandle | null = null;

/** libc itself, opened once for every binding in native/ (fdio.ts declares its own calls on it). */
export function libcLibrary(): LibraryHandle {
  library ??= koffi.load('libc.so.6');
  return library;
}

function load(): Libc {
  if (libc) return libc;
  const lib = libcLibrary();
  libc = {
    open: lib.func('int open(const char *path, int flags)') as Libc['open'],
    close: lib.func('int close(int fd)') as Libc['close'],
    // glibc's ioctl is variadic: each extra argument is passed as a (type, value) pair.
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)') as Libc['ioctl'],
    getsockopt: lib.func('int getsockopt(int fd, int level, int optname, _Inout_ uint8_t *optval, _Inout_ uint32_t *optlen)') as Libc['getsockopt'],
    lgetxattr: lib.func('long lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)') as Libc['lgetxattr'],
    fgetxattr: lib.func('long fgetxattr(int fd, const char *name, _Out_ void *value, size_t size)') as Libc['fgetxattr'],
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)') as Libc['lsetxattr'],
  };
  return libc;
}

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;

/** A failed libc call, with the errno name ("EBUSY") and the kernel's text. */
export class NativeError extends Error {
  constructor(readonly call: string, readonly errno: number, readonly code: string, detail: string) {
    super(`${call}: ${code} (${detail})`);
    this.name = 'NativeError';
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(koffi.os.errno as Record<string, number>).map(([name, n]) => [n, name]));

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

function fail(call: string): never {
  const errno = koffi.errno();
  throw new NativeError(call, errno, errnoName(errno), describeErrno(errno));
}

/** Short descriptions of the errnos the kernel's PCI, VFIO and VGA-arbiter code return. */
export function describeErrno(errno: number): string {
  const texts: Record<string, string> = {
    EPERM: 'operation not permitted', EACCES: 'permission denied', ENOENT: 'no such file', ENODEV: 'no such device',
    EBUSY: 'device or resource busy', EINVAL: 'invalid argument', ENOTTY: 'not supported by this device',
    EIO: 'input/output error', EAGAIN: 'try again', ENOSPC: 'buffer too small', EBADF: 'bad file descriptor',
    EPROTO: 'protocol error', ENOMEM: 'out of memory', EEXIST: 'already exists', ETIMEDOUT: 'timed out',
  };
  return texts[errnoName(errno)] ?? 'system error';
}

export function openPath(path: string, flags: number): number {
  const fd = load().open(path, flags | O_CLOEXEC);
  if (fd < 0) fail(`open ${path}`);
  return fd;
}

export function closeFd(fd: number): void {
  load().close(fd);
}

/** ioctl with an in/out buffer argument (the struct, laid out by the caller). */
export function ioctlBuffer(fd: number, request: number, buf: Buffer, what: string): number {
  const r = load().ioctl(fd, request, 'uint8_t *', buf);
  if (r < 0) fail(what);
  return r;
}

/** ioctl whose argument is a plain integer (or none: pass 0). */
export function ioctlInt(fd: number, request: number, arg: number, what: string): number {
  const r = load().ioctl(fd, request, 'long', arg);
  if (r < 0) fail(what);
  return r;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** The pid, uid and gid of the process at the other end of a connected Unix socket. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const buf = Buffer.alloc(12);
  const len = [12];
  if (load().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) < 0) fail('getsockopt SO_PEERCRED');
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

/** ioctl whose argument is a C string (VFIO_GROUP_GET_DEVICE_FD takes the device name). */
export function ioctlString(fd: number, request: number, text: string, what: string): number {
  const r = load().ioctl(fd, request, 'const char *', text);
  if (r < 0) fail(what);
  return r;
}

/** Attribute absent, or the filesystem has no extended attributes: both mean "no ACL". */
const NO_XATTR = new Set(['ENODATA', 'ENOTSUP', 'EOPNOTSUPP']);

function readXattr(size: (buf: Buffer | null, n: number) => number, what: string): Buffer | null {
  for (let attempt = 0; attempt < 3; attempt++) {
    const n = size(null, 0);
    if (n < 0) {
      if (NO_XATTR.has(errnoName(koffi.errno()))) return null;
      fail(what);
    }
    const buf = Buffer.alloc(n);
    const got = size(buf, n);
    if (got >= 0) return buf.subarray(0, got);
    const code = errnoName(koffi.errno());
    if (NO_XATTR.has(code)) return null;
    if (code !== 'ERANGE') fail(what); // ERANGE: it grew in between; ask again
  }
  fail(what);
}

/** An extended attribute of a path, not following a final symlink; null when it has none. */
export function getXattr(path: string, name: string): Buffer | null {
  return readXattr((buf, n) => load().lgetxattr(path, name, buf, n), `lgetxattr ${path} ${name}`);
}

/** An extended attribute of an open file; null when it has none. */
export function getXattrFd(fd: number, name: string): Buffer | null {
  return readXattr((buf, n) => load().fgetxattr(fd, name, buf, n), `fgetxattr ${name}`);
}

/** Sets an extended attribute (tests write POSIX ACLs with it where setfacl is missing). */
export function setXattr(path: string, name: string, value: Buffer): void {
  if (load().lsetxattr(path, name, value, value.length, 0) < 0) fail(`lsetxattr ${path} ${name}`);
}
