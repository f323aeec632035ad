// The kernel's ioctl number encoding (include/uapi/asm-generic/ioctl.h, used by x86 and arm64):
//   bits 0-7 nr, 8-15 type (a letter), 16-29 argument size, 30-31 direction.
// _IOC_WRITE means user space writes to the kernel (the "W" of _IOW), _IOC_READ the reverse.
export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;
const IOC_SIZEBITS = 14;

export function ioc(dir: number, type: string | number, nr: number, size: number): number {
  const t = typeof type === 'string' ? type.charCodeAt(0) : type;
  if (nr < 0 || nr > 0xff || t < 0 || t > 0xff || size < 0 || size >= 1 << IOC_SIZEBITS) throw new RangeError(`ioctl fields out of range (nr ${nr}, type ${t}, size ${size})`);
  // >>> 0: the direction bits reach bit 31, which JavaScript's << would make negative.
  return ((dir << 30) | (size << 16) | (t << 8) | nr) >>> 0;
}
export const io = (type: string, nr: number) => ioc(IOC_NONE, type, nr, 0);
export const ior = (type: string, nr: number, size: number) => ioc(IOC_READ, type, nr, size);
export const iow = (type: string, nr: number, size: number) => ioc(IOC_WRITE, type, nr, size);
