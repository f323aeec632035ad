// VFIO ioctls (include/uapi/linux/vfio.h): _IO(';', 100 + n), no size encoded; structs start with argsz.
import { closeFd, ioctlBuffer, O_RDWR, openPath } from './libc.js';

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
