// A root client in this process that sends raw lines (what a well-behaved client never would: the
// real client validates params before sending) and pairs answers with their ids.
import { connect, type Socket } from 'node:net';

export interface Answer {
  id?: number | null;
  result?: unknown;
  error?: { code: number; message: string };
  method?: string;
}

export class RawClient {
  private buffered = '';
  private readonly waiting = new Map<number, (a: Answer) => void>();
  readonly unpaired: Answer[] = [];
  closed = false;
  private nextId = 1;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffered += chunk.toString('utf8');
      let nl;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const answer = JSON.parse(this.buffered.slice(0, nl)) as Answer;
        this.buffered = this.buffered.slice(nl + 1);
        const resolve = typeof answer.id === 'number' ? this.waiting.get(answer.id) : undefined;
        if (resolve) {
          this.waiting.delete(answer.id as number);
          resolve(answer);
        } else this.unpaired.push(answer);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const resolve of this.waiting.values()) resolve({ error: { code: 0, message: 'connection closed' } });
      this.waiting.clear();
    });
  }

  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one request with `params` exactly as given (any JSON value, or a raw string spliced in). */
  call(method: string, params?: unknown): Promise<Answer> {
    const id = this.nextId++;
    const text = JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) + '\n';
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.write(text);
    });
  }

  /** Resolves once the helper closed the connection, or after `ms`. */
  untilClosed(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
