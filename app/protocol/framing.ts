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
  private pendingBytes = 0;
  private stopped = false;

  constructor(private readonly maxLineBytes: number, private readonly handlers: LineSplitterHandlers) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.stopped) {
      const end = chunk.indexOf(NEWLINE, start);
      const piece = chunk.subarray(start, end < 0 ? chunk.length : end);
      const lineBytes = this.pendingBytes + piece.length;
      if (lineBytes > this.maxLineBytes) {
        this.stop();
        this.handlers.overflow(lineBytes);
        return;
      }
      if (end < 0) {
        if (piece.length) this.pending.push(piece);
        this.pendingBytes += piece.length;
        return;
      }
      const line = this.pendingBytes ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      start = end + 1;
      const text = line.toString('utf8').trim();
      if (text) this.handlers.line(text);
    }
  }

  stop(): void {
    this.stopped = true;
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** One message as a line on the wire. */
export function encodeLine(message: unknown): string {
  return JSON.stringify(message) + '\n';
}
