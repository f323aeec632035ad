// Newline-delimited JSON over a byte stream: splits incoming bytes into lines, refusing any line
// longer than a limit before it is buffered whole (a client must not make the helper hold gigabytes).
const NEWLINE = 0x0a;

export interface LineSplitterHandlers {
  line(text: string): void;
  /** A line grew past the limit; no more lines are delivered after this. */
  overflow(bytes: number): void;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private stopped = false;

  constructor(private readonly maxLineBytes: number, private readonly handlers: LineSplitterHandlers) {}

  /** Feeds bytes; returns how many whole lines they completed. */
  push(chunk: Buffer): number {
    let start = 0;
    let lines = 0;
    while (!this.stopped) {
      const end = chunk.indexOf(NEWLINE, start);
      const piece = chunk.subarray(start, end < 0 ? chunk.length : end);
      const lineBytes = this.pendingLength + piece.length;
      if (lineBytes > this.maxLineBytes) {
        this.stop();
        this.handlers.overflow(lineBytes);
        return lines;
      }
      if (end < 0) {
        if (piece.length) this.pending.push(piece);
        this.pendingLength += piece.length;
        return lines;
      }
      const line = this.pendingLength ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingLength = 0;
      start = end + 1;
      lines++;
      const text = line.toString('utf8').trim();
      if (text) this.handlers.line(text);
    }
    return lines;
  }

  /** Bytes of a line begun and not yet ended. */
  pendingBytes(): number {
    return this.pendingLength;
  }

  /** The stream ended: what came after the last newline is the last line. */
  end(): void {
    if (this.stopped || !this.pendingLength) return;
    const text = Buffer.concat(this.pending).toString('utf8').trim();
    this.pending = [];
    this.pendingLength = 0;
    if (text) this.handlers.line(text);
  }

  stop(): void {
    this.stopped = true;
    this.pending = [];
    this.pendingLength = 0;
  }
}

/** One message as a line on the wire. */
export function encodeLine(message: unknown): string {
  return JSON.stringify(message) + '\n';
}
