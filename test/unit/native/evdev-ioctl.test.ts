// ioctl numbers from the _IOC macros, against the values the kernel headers produce (as printed by
// a C program including linux/input.h and linux/uinput.h on this machine: gcc, Debian headers).
import { describe, expect, it } from 'vitest';
import { EVIOCGABS, EVIOCGBIT, EVIOCGID, EVIOCGNAME, EVIOCGRAB, EVIOCGVERSION, EVIOCSCLOCKID, UI_ABS_SETUP, UI_DEV_CREATE, UI_DEV_DESTROY, UI_DEV_SETUP, UI_GET_SYSNAME, UI_SET_ABSBIT, UI_SET_EVBIT, UI_SET_KEYBIT, UI_SET_MSCBIT, UI_SET_RELBIT } from '../../../native/evdev.js';
import { ioc } from '../../../native/ioc.js';
import { VFIO_GROUP_GET_STATUS } from '../../../native/vfio.js';

describe('ioctl numbers', () => {
  it.each([
    ['EVIOCGRAB', EVIOCGRAB, 0x40044590],
    ['EVIOCSCLOCKID', EVIOCSCLOCKID, 0x400445a0],
    ['EVIOCGVERSION', EVIOCGVERSION, 0x80044501],
    ['EVIOCGID', EVIOCGID, 0x80084502],
    ['EVIOCGNAME(256)', EVIOCGNAME(256), 0x81004506],
    ['EVIOCGBIT(0, 8)', EVIOCGBIT(0, 8), 0x80084520],
    ['EVIOCGBIT(EV_KEY, 96)', EVIOCGBIT(1, 96), 0x80604521],
    ['EVIOCGABS(ABS_X)', EVIOCGABS(0), 0x80184540],
    ['UI_DEV_CREATE', UI_DEV_CREATE, 0x5501],
    ['UI_DEV_DESTROY', UI_DEV_DESTROY, 0x5502],
    ['UI_DEV_SETUP', UI_DEV_SETUP, 0x405c5503],
    ['UI_ABS_SETUP', UI_ABS_SETUP, 0x401c5504],
    ['UI_SET_EVBIT', UI_SET_EVBIT, 0x40045564],
    ['UI_SET_KEYBIT', UI_SET_KEYBIT, 0x40045565],
    ['UI_SET_RELBIT', UI_SET_RELBIT, 0x40045566],
    ['UI_SET_ABSBIT', UI_SET_ABSBIT, 0x40045567],
    ['UI_SET_MSCBIT', UI_SET_MSCBIT, 0x40045568],
    ['UI_GET_SYSNAME(64)', UI_GET_SYSNAME(64), 0x8040552c],
  ])('%s', (_name, value, expected) => {
    expect(value.toString(16)).toBe(expected.toString(16));
  });

  it('agrees with the hand-written VFIO numbers (_IO(";", 100 + n))', () => {
    expect(ioc(0, ';', 100 + 3, 0)).toBe(VFIO_GROUP_GET_STATUS);
  });

  it('refuses fields that do not fit', () => {
    expect(() => ioc(2, 'E', 0x100, 4)).toThrow(RangeError);
    expect(() => ioc(2, 'E', 1, 1 << 14)).toThrow(RangeError);
  });
});
