// The libc calls the kernel-writer child needs (open, close, ioctl), bound with koffi inside the
// child. Self-contained on purpose: the child's source is built from this function's text
// (Function.prototype.toString), so it may use only its parameter and globals.

export interface Syscalls {
  open(path: string, flags: number): number;
  close(fd: number): void;
  ioctlBuffer(fd: number, request: number, buf: Buffer, what: string): number;
  ioctlInt(fd: number, request: number, arg: number, what: string): number;
  ioctlString(fd: number, request: number, text: string, what: string): number;
}

/** A failed call: an Error with `call`, `errno` and the errno name in `code`. */
export interface SyscallFailure extends Error {
  call: string;
  errno: number;
  code: string;
}

interface KoffiLike {
  load(name: string): { func(signature: string): (...args: unknown[]) => number };
  errno(): number;
  os: { errno: Record<string, number> };
}

export function bindSyscalls(koffi: KoffiLike): Syscalls {
  const lib = koffi.load('libc.so.6');
  const open = lib.func('int open(const char *path, int flags)');
  const close = lib.func('int close(int fd)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const names: Record<number, string> = {};
  for (const [name, n] of Object.entries(koffi.os.errno)) names[n] = name;
  const O_CLOEXEC = 0o2000000;
  const fail = (call: string): never => {
    const errno = koffi.errno();
    const code = names[errno] ?? `errno ${errno}`;
    throw Object.assign(new Error(`${call}: ${code}`), { call, errno, code });
  };
  return {
    open: (path, flags) => {
      const fd = open(path, flags | O_CLOEXEC);
      return fd < 0 ? fail(`open ${path}`) : fd;
    },
    close: (fd) => void close(fd),
    // glibc's ioctl is variadic: each extra argument is passed as a (type, value) pair.
    ioctlBuffer: (fd, request, buf, what) => {
      const r = ioctl(fd, request, 'uint8_t *', buf);
      return r < 0 ? fail(what) : r;
    },
    ioctlInt: (fd, request, arg, what) => {
      const r = ioctl(fd, request, 'long', arg);
      return r < 0 ? fail(what) : r;
    },
    ioctlString: (fd, request, text, what) => {
      const r = ioctl(fd, request, 'const char *', text);
      return r < 0 ? fail(what) : r;
    },
  };
}
