// What a real input device can send (EVIOCGBIT bitmaps, EVIOCGABS ranges, EVIOCGID, EVIOCGNAME),
// and the uinput description of the virtual device that copies it for a guest.
import { ABS_MAX, EV_ABS, EV_KEY, EV_MSC, EV_REL, EV_SYN, KEY_MAX, MSC_MAX, REL_MAX } from './codes.js';

export interface InputId {
  bustype: number;
  vendor: number;
  product: number;
  version: number;
}

/** struct input_absinfo: the range of one absolute axis. */
export interface AbsInfo {
  value: number;
  minimum: number;
  maximum: number;
  fuzz: number;
  flat: number;
  resolution: number;
}

export interface DeviceCapabilities {
  name: string;
  id: InputId;
  /** Event types (EV_*) the device reports. */
  types: number[];
  keys: number[];
  rels: number[];
  abs: { code: number; info: AbsInfo }[];
  miscs: number[];
}

/** Bytes an EVIOCGBIT buffer needs for codes 0..max (whole 64-bit longs, as the kernel writes them). */
export function bitmapBytes(max: number): number {
  return Math.ceil((max + 1) / 64) * 8;
}

/** The set bits of an EVIOCGBIT buffer (an array of unsigned longs; little-endian: bit n is byte n>>3, bit n&7). */
export function bitsOf(bitmap: Buffer, max: number): number[] {
  const out: number[] = [];
  for (let n = 0; n <= max && n >> 3 < bitmap.length; n++) {
    if ((bitmap[n >> 3] ?? 0) & (1 << (n & 7))) out.push(n);
  }
  return out;
}

export function bitmapOf(bits: readonly number[], max: number): Buffer {
  const buf = Buffer.alloc(bitmapBytes(max));
  for (const n of bits) {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`bit ${n} is outside 0..${max}`);
    buf[n >> 3] = (buf[n >> 3] ?? 0) | (1 << (n & 7));
  }
  return buf;
}

/** Which event types a virtual device copies; see filter.ts for why LED, REP and FF are left out. */
const COPIED_TYPES = [EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC];

export interface UinputDescription {
  /** UI_DEV_SETUP: struct uinput_setup. */
  id: InputId;
  name: string;
  /** UI_SET_EVBIT, UI_SET_KEYBIT, UI_SET_RELBIT, UI_SET_ABSBIT, UI_SET_MSCBIT, in this order. */
  types: number[];
  keys: number[];
  rels: number[];
  absBits: number[];
  miscs: number[];
  /** UI_ABS_SETUP per absolute axis. */
  absSetups: { code: number; info: AbsInfo }[];
}

/** uinput_setup.name is char[80] (UINPUT_MAX_NAME_SIZE), NUL included. */
export const UINPUT_MAX_NAME = 79;

/**
 * The virtual device for one VM: the real device's capabilities (within range), its ids, and a
 * name that says it is Baton's ("Baton: <real name>"), cut to fit uinput's 80 bytes.
 */
export function uinputDescription(real: DeviceCapabilities): UinputDescription {
  const types = real.types.filter((t) => COPIED_TYPES.includes(t));
  const has = (t: number) => types.includes(t);
  const within = (codes: number[], max: number) => [...new Set(codes.filter((c) => Number.isInteger(c) && c >= 0 && c <= max))].sort((a, b) => a - b);
  const abs = has(EV_ABS) ? real.abs.filter((a) => a.code >= 0 && a.code <= ABS_MAX) : [];
  let name = `Baton: ${real.name}`;
  while (Buffer.byteLength(name) > UINPUT_MAX_NAME) name = name.slice(0, -1);
  return {
    id: real.id,
    name,
    types,
    keys: has(EV_KEY) ? within(real.keys, KEY_MAX) : [],
    rels: has(EV_REL) ? within(real.rels, REL_MAX) : [],
    absBits: within(abs.map((a) => a.code), ABS_MAX),
    miscs: has(EV_MSC) ? within(real.miscs, MSC_MAX) : [],
    absSetups: abs,
  };
}

export const UINPUT_SETUP_SIZE = 92;
export const UINPUT_ABS_SETUP_SIZE = 28;
export const INPUT_ID_SIZE = 8;
export const ABSINFO_SIZE = 24;

export function decodeInputId(buf: Buffer): InputId {
  return { bustype: buf.readUInt16LE(0), vendor: buf.readUInt16LE(2), product: buf.readUInt16LE(4), version: buf.readUInt16LE(6) };
}

export function decodeAbsInfo(buf: Buffer, at = 0): AbsInfo {
  const [value, minimum, maximum, fuzz, flat, resolution] = [0, 4, 8, 12, 16, 20].map((o) => buf.readInt32LE(at + o)) as [number, number, number, number, number, number];
  return { value, minimum, maximum, fuzz, flat, resolution };
}

/** struct uinput_setup { struct input_id id; char name[80]; __u32 ff_effects_max; } */
export function encodeUinputSetup(d: Pick<UinputDescription, 'id' | 'name'>): Buffer {
  const buf = Buffer.alloc(UINPUT_SETUP_SIZE);
  buf.writeUInt16LE(d.id.bustype, 0);
  buf.writeUInt16LE(d.id.vendor, 2);
  buf.writeUInt16LE(d.id.product, 4);
  buf.writeUInt16LE(d.id.version, 6);
  const name = Buffer.from(d.name, 'utf8');
  if (name.length > UINPUT_MAX_NAME) throw new RangeError(`uinput name is ${name.length} bytes; at most ${UINPUT_MAX_NAME}`);
  name.copy(buf, 8);
  buf.writeUInt32LE(0, 88); // no force feedback
  return buf;
}

/** struct uinput_abs_setup { __u16 code; (2 bytes padding) struct input_absinfo absinfo; } */
export function encodeUinputAbsSetup(code: number, info: AbsInfo): Buffer {
  const buf = Buffer.alloc(UINPUT_ABS_SETUP_SIZE);
  buf.writeUInt16LE(code, 0);
  [info.value, info.minimum, info.maximum, info.fuzz, info.flat, info.resolution].forEach((v, i) => buf.writeInt32LE(v, 4 + i * 4));
  return buf;
}
