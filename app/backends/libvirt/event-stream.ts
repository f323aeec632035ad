// One `virsh event --all --loop` child per connection URI, parsed line by line. It runs until stop();
// no deadline, since it is a subscription, not a request.
import { spawn, type ChildProcess } from 'node:child_process';
import { parseEventLine, type DomainEvent } from './event-lines.js';

const STOP_GRACE_MS = 2_000;

export interface EventStreamOptions {
  uri: string;
  virshPath?: string;
  onEvent: (event: DomainEvent) => void;
  /** The child ended without stop(): the connection is gone (daemon stopped, network lost). */
  onEnd: (reason: string) => void;
}

export class VirshEventStream {
  private child: ChildProcess | null = null;
  private stopping = false;

  constructor(private readonly options: EventStreamOptions) {}

  start(): void {
    if (this.child) return;
    this.stopping = false;
    const child = spawn(this.options.virshPath ?? 'virsh', ['-c', this.options.uri, 'event', '--all', '--loop'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
    this.child = child;
    let buffered = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const event = parseEventLine(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (event) this.options.onEvent(event);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-2000); });
    const ended = (reason: string) => {
      if (this.child !== child) return;
      this.child = null;
      if (!this.stopping) this.options.onEnd(stderr.trim() || reason);
    };
    child.once('error', (error) => ended(error.message));
    child.once('exit', (code, signal) => ended(`virsh event exited (${signal ?? code})`));
  }

  /** Stops the child; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.once('exit', () => { clearTimeout(force); resolve(); });
      child.kill('SIGTERM');
    });
  }
}
