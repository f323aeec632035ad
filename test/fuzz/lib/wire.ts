// A raw client of the helper socket: writes bytes in chunks of the caller's choosing and collects
// every line the helper sends back, parsed, plus whether the helper closed the connection.
import { connect, type Socket } from 'node:net';

export interface WireMessage {
  jsonrpc?: unknown;
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
  method?: unknown;
  params?: unknown;
}

export class Wire {
  readonly messages: WireMessage[] = [];
  /** Lines from the helper that were not JSON (always a bug). */
  readonly garbage: string[] = [];
  closed = false;
  private buffered = '';
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffered += text;
      let nl;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        try {
          this.messages.push(JSON.parse(line) as WireMessage);
        } catch {
          this.garbage.push(line.slice(0, 200));
        }
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(path: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Wire(socket));
      });
    });
  }

  /** Writes each chunk in its own write, letting the event loop turn between them (split lines). */
  async send(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      if (this.closed) return;
      await new Promise<void>((resolve) => this.socket.write(chunk, () => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves once `done()` holds, the connection closed, or `limitMs` passed (the caller judges). */
  async until(done: () => boolean, limitMs: number): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    while (!done()) {
      if (this.closed) return done();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
