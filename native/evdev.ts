// evdev and uinput ioctls (include/uapi/linux/input.h, include/uapi/linux/uinput.h), numbers
// built with the _IOC macros (ioc.ts), and the calls the input relay makes through koffi.
// Not run on the build machines: they have no /dev/uinput and no keyboard to grab; the relay
// runs them in the KVM lab's L1 kernel.
import { ABSINFO_SIZE, bitmapBytes, bitsOf, decodeAbsInfo, decodeInputId, encodeUinputAbsSetup, encodeUinputSetup, INPUT_ID_SIZE, UINPUT_ABS_SETUP_SIZE, UINPUT_SETUP_SIZE, type DeviceCapabilities, type UinputDescription } from '../app/domain/input/capabilities.js';
import { ABS_MAX, EV_ABS, EV_KEY, EV_MAX, EV_MSC, EV_REL, KEY_MAX, MSC_MAX, REL_MAX } from '../app/domain/input/codes.js';
import { ioctlBuffer, ioctlInt } from './libc.js';
import { ioc, IOC_READ, io, ior, iow } from './ioc.js';

const INT_SIZE = 4;

// --- evdev: 'E' ---
/** EVIOCGVERSION = _IOR('E', 0x01, int) */
export const EVIOCGVERSION = ior('E', 0x01, INT_SIZE);
/** EVIOCGID = _IOR('E', 0x02, struct input_id) */
export const EVIOCGID = ior('E', 0x02, INPUT_ID_SIZE);
/** EVIOCGNAME(len) = _IOC(_IOC_READ, 'E', 0x06, len) */
export const EVIOCGNAME = (len: number) => ioc(IOC_READ, 'E', 0x06, len);
/** EVIOCGBIT(ev, len) = _IOC(_IOC_READ, 'E', 0x20 + ev, len); ev 0 asks for the event types. */
export const EVIOCGBIT = (ev: number, len: number) => ioc(IOC_READ, 'E', 0x20 + ev, len);
/** EVIOCGABS(abs) = _IOR('E', 0x40 + abs, struct input_absinfo) */
export const EVIOCGABS = (abs: number) => ior('E', 0x40 + abs, ABSINFO_SIZE);
/** EVIOCGRAB = _IOW('E', 0x90, int): 1 takes the device from every other reader, 0 gives it back. */
export const EVIOCGRAB = iow('E', 0x90, INT_SIZE);
/** EVIOCSCLOCKID = _IOW('E', 0xa0, int): which clock stamps this fd's events. */
export const EVIOCSCLOCKID = iow('E', 0xa0, INT_SIZE);
/** CLOCK_MONOTONIC: the clock of process.hrtime (libuv's uv_hrtime), so the relay can time itself. */
export const CLOCK_MONOTONIC = 1;

// --- uinput: 'U' (UINPUT_IOCTL_BASE) ---
export const UI_DEV_CREATE = io('U', 1);
export const UI_DEV_DESTROY = io('U', 2);
/** UI_DEV_SETUP = _IOW('U', 3, struct uinput_setup) */
export const UI_DEV_SETUP = iow('U', 3, UINPUT_SETUP_SIZE);
/** UI_ABS_SETUP = _IOW('U', 4, struct uinput_abs_setup) */
export const UI_ABS_SETUP = iow('U', 4, UINPUT_ABS_SETUP_SIZE);
export const UI_SET_EVBIT = iow('U', 100, INT_SIZE);
export const UI_SET_KEYBIT = iow('U', 101, INT_SIZE);
export const UI_SET_RELBIT = iow('U', 102, INT_SIZE);
export const UI_SET_ABSBIT = iow('U', 103, INT_SIZE);
export const UI_SET_MSCBIT = iow('U', 104, INT_SIZE);
/** UI_GET_SYSNAME(len) = _IOC(_IOC_READ, 'U', 44, len): "inputN" under /sys/devices/virtual/input. */
export const UI_GET_SYSNAME = (len: number) => ioc(IOC_READ, 'U', 44, len);

const NAME_LEN = 256;

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

function bits(fd: number, ev: number, max: number): number[] {
  const buf = Buffer.alloc(bitmapBytes(max));
  ioctlBuffer(fd, EVIOCGBIT(ev, buf.length), buf, `EVIOCGBIT(${ev})`);
  return bitsOf(buf, max);
}

/** Everything a virtual copy of the device needs, read from an open evdev fd. */
export function readCapabilities(fd: number): DeviceCapabilities {
  const nameBuf = Buffer.alloc(NAME_LEN);
  ioctlBuffer(fd, EVIOCGNAME(NAME_LEN), nameBuf, 'EVIOCGNAME');
  const idBuf = Buffer.alloc(INPUT_ID_SIZE);
  ioctlBuffer(fd, EVIOCGID, idBuf, 'EVIOCGID');
  const types = bits(fd, 0, EV_MAX);
  const has = (t: number) => types.includes(t);
  const absCodes = has(EV_ABS) ? bits(fd, EV_ABS, ABS_MAX) : [];
  return {
    name: cString(nameBuf),
    id: decodeInputId(idBuf),
    types,
    keys: has(EV_KEY) ? bits(fd, EV_KEY, KEY_MAX) : [],
    rels: has(EV_REL) ? bits(fd, EV_REL, REL_MAX) : [],
    abs: absCodes.map((code) => {
      const info = Buffer.alloc(ABSINFO_SIZE);
      ioctlBuffer(fd, EVIOCGABS(code), info, `EVIOCGABS(${code})`);
      return { code, info: decodeAbsInfo(info) };
    }),
    miscs: has(EV_MSC) ? bits(fd, EV_MSC, MSC_MAX) : [],
  };
}

export function grab(fd: number, on: boolean): void {
  ioctlInt(fd, EVIOCGRAB, on ? 1 : 0, on ? 'EVIOCGRAB' : 'EVIOCGRAB release');
}

/** Stamps this fd's events with CLOCK_MONOTONIC instead of CLOCK_REALTIME (which jumps when the clock is set). */
export function useMonotonicClock(fd: number): void {
  // Unlike EVIOCGRAB (whose int is the argument itself), evdev copies this one from a pointer
  // (copy_from_user in evdev_do_ioctl): passed by value, the kernel answers EFAULT.
  const clock = Buffer.alloc(INT_SIZE);
  clock.writeInt32LE(CLOCK_MONOTONIC);
  ioctlBuffer(fd, EVIOCSCLOCKID, clock, 'EVIOCSCLOCKID');
}

/** Sets up and creates the virtual device on an open /dev/uinput fd; returns its sysfs name ("input42"). */
export function createUinputDevice(fd: number, d: UinputDescription): string {
  for (const t of d.types) ioctlInt(fd, UI_SET_EVBIT, t, `UI_SET_EVBIT ${t}`);
  for (const k of d.keys) ioctlInt(fd, UI_SET_KEYBIT, k, `UI_SET_KEYBIT ${k}`);
  for (const r of d.rels) ioctlInt(fd, UI_SET_RELBIT, r, `UI_SET_RELBIT ${r}`);
  for (const a of d.absBits) ioctlInt(fd, UI_SET_ABSBIT, a, `UI_SET_ABSBIT ${a}`);
  for (const m of d.miscs) ioctlInt(fd, UI_SET_MSCBIT, m, `UI_SET_MSCBIT ${m}`);
  for (const a of d.absSetups) ioctlBuffer(fd, UI_ABS_SETUP, encodeUinputAbsSetup(a.code, a.info), `UI_ABS_SETUP ${a.code}`);
  ioctlBuffer(fd, UI_DEV_SETUP, encodeUinputSetup(d), 'UI_DEV_SETUP');
  ioctlInt(fd, UI_DEV_CREATE, 0, 'UI_DEV_CREATE');
  const sys = Buffer.alloc(64);
  ioctlBuffer(fd, UI_GET_SYSNAME(sys.length), sys, 'UI_GET_SYSNAME');
  return cString(sys);
}

export function destroyUinputDevice(fd: number): void {
  ioctlInt(fd, UI_DEV_DESTROY, 0, 'UI_DEV_DESTROY');
}
