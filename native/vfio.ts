// VFIO ioctls (include/uapi/linux/vfio.h): _IO(';', 100 + n), no size encoded; structs start with argsz.
import { closeFd, ioctlBuffer, O_RDWR, openPath } from './libc.js';
import type { Syscalls } from './syscalls.js';

export const VFIO_GET_API_VERSION = 0x3b64;
export const VFIO_GROUP_GET_STATUS = 0x3b67;
export const VFIO_GROUP_GET_DEVICE_FD = 0x3b6a;
export const VFIO_DEVICE_GET_INFO = 0x3b6b;
export const VFIO_DEVICE_RESET = 0x3b6f;
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = 0x3b70;
export const VFIO_DEVICE_PCI_HOT_RESET = 0x3b71;

const GROUP_FLAGS_VIABLE = 1 << 0;
const GROUP_FLAGS_CONTAINER_SET = 1 << 1;

export interface VfioGroupStatus {
  viable: boolean;
  containerSet: boolean;
}

/** VFIO_GROUP_GET_STATUS on /dev/vfio/N. Throws NativeError (EBUSY when another process has the group open). */
export function vfioGroupStatus(group: number, devDir = '/dev/vfio'): VfioGroupStatus {
  if (!Number.isInteger(group) || group < 0) throw new RangeError(`IOMMU group ${group} is not a group number`);
  const fd = openPath(`${devDir}/${group}`, O_RDWR);
  try {
    const status = Buffer.alloc(8);
    status.writeUInt32LE(8, 0); // argsz
    ioctlBuffer(fd, VFIO_GROUP_GET_STATUS, status, `VFIO_GROUP_GET_STATUS on group ${group}`);
    const flags = status.readUInt32LE(4);
    return { viable: (flags & GROUP_FLAGS_VIABLE) !== 0, containerSet: (flags & GROUP_FLAGS_CONTAINER_SET) !== 0 };
  } finally {
    closeFd(fd);
  }
}

export interface HotResetDependent {
  group: number;
  address: string;
}

/**
 * VFIO_DEVICE_PCI_HOT_RESET: a secondary bus reset of the slot or bus the device sits on, for a
 * multi-function GPU whose functions cannot be reset one by one. The caller must own every group
 * the reset touches, so each affected group is opened and put in one container. The kernel sleeps
 * for the bus to settle (about a second) and may hang on a broken device, so this never runs in
 * the helper's main thread: it runs in the GPU's kernel-writer child (app/host/kernel), whose source
 * is built from this function's text. Hence self-contained: only its parameters and globals.
 */
export function hotResetSequence(sys: Syscalls, group: number, deviceName: string, devDir: string): HotResetDependent[] {
  const O_RDWR = 2;
  const VFIO_SET_IOMMU = 0x3b66;
  const VFIO_GROUP_SET_CONTAINER = 0x3b68;
  const VFIO_GROUP_GET_DEVICE_FD = 0x3b6a;
  const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = 0x3b70;
  const VFIO_DEVICE_PCI_HOT_RESET = 0x3b71;
  const VFIO_TYPE1v2_IOMMU = 3;
  const MAX_DEPENDENTS = 32;
  if (!Number.isInteger(group) || group < 0) throw new RangeError(`IOMMU group ${group} is not a group number`);
  const fds: number[] = [];
  const open = (path: string) => {
    const fd = sys.open(path, O_RDWR);
    fds.push(fd);
    return fd;
  };
  try {
    const container = open(`${devDir}/vfio`);
    const groupFds = new Map<number, number>();
    const join = (g: number) => {
      const fd = open(`${devDir}/${g}`);
      const arg = Buffer.alloc(4);
      arg.writeInt32LE(container, 0);
      sys.ioctlBuffer(fd, VFIO_GROUP_SET_CONTAINER, arg, `VFIO_GROUP_SET_CONTAINER for group ${g}`);
      groupFds.set(g, fd);
      return fd;
    };
    const groupFd = join(group);
    sys.ioctlInt(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, 'VFIO_SET_IOMMU (type1v2)');
    const device = sys.ioctlString(groupFd, VFIO_GROUP_GET_DEVICE_FD, deviceName, `VFIO_GROUP_GET_DEVICE_FD for ${deviceName}`);
    fds.push(device);

    const info = Buffer.alloc(12 + MAX_DEPENDENTS * 8);
    info.writeUInt32LE(info.length, 0);
    sys.ioctlBuffer(device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info, `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO for ${deviceName}`);
    const count = info.readUInt32LE(8);
    const dependents: HotResetDependent[] = [];
    for (let i = 0; i < Math.min(count, MAX_DEPENDENTS); i++) {
      const at = 12 + i * 8;
      const devfn = info.readUInt8(at + 7);
      const address = `${info.readUInt16LE(at + 4).toString(16).padStart(4, '0')}:${info.readUInt8(at + 6).toString(16).padStart(2, '0')}:${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`;
      dependents.push({ group: info.readUInt32LE(at), address });
    }
    for (const d of dependents) if (!groupFds.has(d.group)) join(d.group);

    const reset = Buffer.alloc(12 + groupFds.size * 4);
    reset.writeUInt32LE(reset.length, 0);
    reset.writeUInt32LE(groupFds.size, 8);
    [...groupFds.values()].forEach((fd, i) => reset.writeInt32LE(fd, 12 + i * 4));
    sys.ioctlBuffer(device, VFIO_DEVICE_PCI_HOT_RESET, reset, `VFIO_DEVICE_PCI_HOT_RESET for ${deviceName}`);
    return dependents;
  } finally {
    for (const fd of fds.reverse()) sys.close(fd);
  }
}
