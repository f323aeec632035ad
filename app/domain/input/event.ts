// struct input_event as read from /dev/input/eventN and written to /dev/uinput on x86_64 (and
// every 64-bit Linux): struct timeval { s64 tv_sec; s64 tv_usec } then u16 type, u16 code,
// s32 value: 24 bytes, little-endian. Reads return whole events, so a short read is corruption.

export const INPUT_EVENT_SIZE = 24;

export interface InputEvent {
  /** Kernel timestamp (CLOCK_REALTIME unless EVIOCSCLOCKID changed it). */
  sec: number;
  usec: number;
  type: number;
  code: number;
  value: number;
}

export class InputEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputEventError';
  }
}

export function encodeEvent(e: InputEvent, into: Buffer = Buffer.alloc(INPUT_EVENT_SIZE), at = 0): Buffer {
  into.writeBigInt64LE(BigInt(e.sec), at);
  into.writeBigInt64LE(BigInt(e.usec), at + 8);
  into.writeUInt16LE(e.type, at + 16);
  into.writeUInt16LE(e.code, at + 18);
  into.writeInt32LE(e.value, at + 20);
  return into;
}

export function encodeEvents(events: readonly InputEvent[]): Buffer {
  const buf = Buffer.alloc(events.length * INPUT_EVENT_SIZE);
  events.forEach((e, i) => encodeEvent(e, buf, i * INPUT_EVENT_SIZE));
  return buf;
}

export function decodeEvent(buf: Buffer, at = 0): InputEvent {
  if (buf.length - at < INPUT_EVENT_SIZE) throw new InputEventError(`short input_event: ${buf.length - at} of ${INPUT_EVENT_SIZE} bytes`);
  return {
    sec: Number(buf.readBigInt64LE(at)),
    usec: Number(buf.readBigInt64LE(at + 8)),
    type: buf.readUInt16LE(at + 16),
    code: buf.readUInt16LE(at + 18),
    value: buf.readInt32LE(at + 20),
  };
}

/** Every event in one read; the kernel never returns a partial event, so a remainder is an error. */
export function decodeEvents(buf: Buffer): InputEvent[] {
  if (buf.length % INPUT_EVENT_SIZE !== 0) throw new InputEventError(`read of ${buf.length} bytes is not a whole number of ${INPUT_EVENT_SIZE}-byte events`);
  const out: InputEvent[] = [];
  for (let at = 0; at < buf.length; at += INPUT_EVENT_SIZE) out.push(decodeEvent(buf, at));
  return out;
}

/** Microseconds since the epoch, for comparing kernel timestamps. */
export function eventMicros(e: Pick<InputEvent, 'sec' | 'usec'>): number {
  return e.sec * 1_000_000 + e.usec;
}
