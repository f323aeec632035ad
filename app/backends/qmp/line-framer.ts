// Splits a byte stream into lines (QMP: one JSON message per line, CRLF or LF), bounded in size.
// Bytes are kept until a newline arrives, so a UTF-8 character split across chunks decodes intact.

export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export type FramerResult = { lines: string[]; overflow: false } | { lines: string[]; overflow: true; bufferedBytes: number };

export class LineFramer {
  private parts: Buffer[] = [];
  private partsBytes = 0;

  constructor(private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  /** Lines completed by this chunk; overflow once an unfinished or finished line passes the limit
   *  (the caller then drops the connection: there is no way to resynchronise inside a huge line). */
  push(chunk: Buffer): FramerResult {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, newline);
      const lineBytes = this.partsBytes + piece.length;
      if (lineBytes > this.maxLineBytes) return this.overflow(lines, lineBytes);
      const whole = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece], lineBytes);
      this.parts = [];
      this.partsBytes = 0;
      const text = whole.toString('utf8');
      lines.push(text.endsWith('\r') ? text.slice(0, -1) : text);
      start = newline + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partsBytes += rest.length;
      if (this.partsBytes > this.maxLineBytes) return this.overflow(lines, this.partsBytes);
      // Copy: the socket may reuse its buffer.
      this.parts.push(Buffer.from(rest));
    }
    return { lines, overflow: false };
  }

  reset(): void {
    this.parts = [];
    this.partsBytes = 0;
  }

  private overflow(lines: string[], bufferedBytes: number): FramerResult {
    this.reset();
    return { lines, overflow: true, bufferedBytes };
  }
}
