// A QMP client over a Unix socket: greeting, capabilities negotiation, id-matched requests with
// deadlines, and events.
//
// Decisions:
// - A line that is not QMP (bad JSON, wrong shape, answer to an unknown id) is reported to
//   protocol-error listeners and skipped; the connection stays usable, since line framing keeps
//   later messages intact. If such a line still carries the id of a pending request, that request
//   fails with VmProtocolError at once instead of waiting for its deadline.
// - A line longer than maxLineBytes closes the connection on purpose (no way to find the next
//   message boundary without buffering it all); pending requests fail with VmProtocolError.
// - The socket closing otherwise fails every pending request with VmConnectionLostError.
// - No automatic reconnect: reconnect() is explicit, and the backend reconnects lazily on its next
//   call. Listeners survive a reconnect.
import net from 'node:net';
import {
  VmConnectionLostError,
  VmNotRunningError,
  VmProtocolError,
  VmTimeoutError,
  type VmBackendError,
} from '../../domain/vm/errors.js';
import { mapQmpError } from './error-mapping.js';
import { DEFAULT_MAX_LINE_BYTES, LineFramer } from './line-framer.js';
import { parseQmpMessage, type QmpEvent, type QmpGreeting, type QmpMessage, type QmpRequestId } from './messages.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface QmpClientOptions {
  socketPath: string;
  /** Names the VM in errors. */
  vm: string;
  /** Deadline for connect + greeting + capabilities negotiation. */
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxLineBytes?: number;
  /** Send qmp_capabilities after the greeting (default true; false only to inspect a raw session). */
  negotiate?: boolean;
}

export interface ExecuteOptions {
  timeoutMs?: number;
  /** Device named in errors. */
  device?: string;
}

type Listener<T> = (value: T) => void;

interface Pending {
  command: string;
  device: string | undefined;
  resolve: (value: unknown) => void;
  reject: (error: VmBackendError) => void;
  timer: NodeJS.Timeout;
}

const ABANDONED_IDS_KEPT = 256;

export class QmpClient {
  private socket: net.Socket | null = null;
  private framer: LineFramer;
  private pending = new Map<QmpRequestId, Pending>();
  // Ids whose deadline passed: a late answer is expected, not a protocol error.
  private abandoned: QmpRequestId[] = [];
  private nextId = 1;
  private greetingWaiter: { resolve: (greeting: QmpGreeting) => void; reject: (error: VmBackendError) => void } | null = null;
  private closeReason: VmBackendError | null = null;
  private currentGreeting: QmpGreeting | null = null;
  private readonly eventListeners = new Set<Listener<QmpEvent>>();
  private readonly protocolErrorListeners = new Set<Listener<VmProtocolError>>();
  private readonly disconnectListeners = new Set<Listener<VmBackendError>>();

  private constructor(private readonly options: QmpClientOptions) {
    this.framer = new LineFramer(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  }

  static async connect(options: QmpClientOptions): Promise<QmpClient> {
    const client = new QmpClient(options);
    await client.open();
    return client;
  }

  get greeting(): QmpGreeting | null {
    return this.currentGreeting;
  }

  get connected(): boolean {
    return this.socket !== null && this.closeReason === null;
  }

  get vm(): string {
    return this.options.vm;
  }

  async reconnect(): Promise<void> {
    this.close();
    await this.open();
  }

  /** Runs one command; resolves with its "return" value, rejects with a typed error. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<T> {
    const socket = this.socket;
    if (!socket || this.closeReason) {
      return Promise.reject(this.closeReason ?? this.connectionLost(`not connected (${command})`));
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs ?? 10_000;
    // The VM's answer is a wait on the hypervisor, not Baton's own time.
    return waitedOn(new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.abandoned.push(id);
        if (this.abandoned.length > ABANDONED_IDS_KEPT) this.abandoned.shift();
        reject(new VmTimeoutError(`QMP ${command} on ${this.vm}: no answer within ${timeoutMs} ms`, this.context(options.device), command, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { command, device: options.device, resolve: resolve as (value: unknown) => void, reject, timer });
      socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    }));
  }

  onEvent(listener: Listener<QmpEvent>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onProtocolError(listener: Listener<VmProtocolError>): () => void {
    this.protocolErrorListeners.add(listener);
    return () => this.protocolErrorListeners.delete(listener);
  }

  /** Called once per lost connection, with the reason pending requests were rejected with. */
  onDisconnect(listener: Listener<VmBackendError>): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  close(): void {
    this.shutDown(this.connectionLost('closed by the client'));
  }

  private async open(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 5_000;
    this.closeReason = null;
    this.currentGreeting = null;
    this.framer.reset();
    const socket = net.createConnection(this.options.socketPath);
    this.socket = socket;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VmTimeoutError(
        `QMP on ${this.vm}: no greeting within ${timeoutMs} ms`, this.context(), 'connect', timeoutMs)), timeoutMs);
    });
    try {
      await Promise.race([this.handshake(socket), deadline]);
    } catch (error) {
      this.shutDown(error as VmBackendError);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(socket: net.Socket): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        // No listener: the VM is not running (or not with this socket).
        const absent = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
        reject(absent
          ? new VmNotRunningError(`QMP socket ${this.options.socketPath} of ${this.vm}: ${error.code}`, this.context(undefined, error))
          : this.connectionLost(`connect to ${this.options.socketPath}: ${error.message}`, error));
      });
    });
    // Guards: after reconnect(), the old socket's late events must not touch the new session.
    socket.on('data', (chunk: Buffer) => { if (this.socket === socket && !this.closeReason) this.receive(chunk); });
    socket.on('error', () => { /* 'close' follows and carries the consequence */ });
    socket.on('close', () => { if (this.socket === socket) this.shutDown(this.connectionLost('socket closed')); });
    const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      if (this.closeReason) reject(this.closeReason);
      else this.greetingWaiter = { resolve, reject };
    });
    this.currentGreeting = greeting;
    if (this.options.negotiate !== false) await this.execute('qmp_capabilities');
  }

  private receive(chunk: Buffer): void {
    const { lines, ...framed } = this.framer.push(chunk);
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.dispatch(parseQmpMessage(line));
    }
    if (framed.overflow) {
      const limit = this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
      const error = new VmProtocolError(
        `QMP on ${this.vm}: message over ${limit} bytes without a newline (${framed.bufferedBytes} buffered); connection closed`, this.context());
      this.reportProtocolError(error);
      this.shutDown(error);
    }
  }

  private dispatch(message: QmpMessage): void {
    switch (message.type) {
      case 'greeting':
        if (this.greetingWaiter) {
          this.greetingWaiter.resolve(message.greeting);
          this.greetingWaiter = null;
        } else this.reportProtocolError(new VmProtocolError(`QMP on ${this.vm}: unexpected second greeting`, this.context()));
        return;
      case 'event':
        for (const listener of [...this.eventListeners]) this.safely(listener, message.event);
        return;
      case 'invalid':
        this.answerInvalid(message.reason, message.id);
        return;
      case 'return':
      case 'error':
        this.answer(message);
        return;
    }
  }

  private answer(message: Extract<QmpMessage, { type: 'return' | 'error' }>): void {
    if (this.greetingWaiter) {
      this.failGreeting(`QMP on ${this.vm}: expected a greeting, got an answer`);
      return;
    }
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending) {
      if (message.id !== undefined && this.abandoned.includes(message.id)) return;
      this.reportProtocolError(new VmProtocolError(
        `QMP on ${this.vm}: answer for ${message.id === undefined ? 'no id' : `unknown id ${JSON.stringify(message.id)}`}`, this.context()));
      return;
    }
    this.settle(message.id as QmpRequestId, pending);
    if (message.type === 'return') pending.resolve(message.value);
    else pending.reject(mapQmpError({
      errorClass: message.errorClass, description: message.description, command: pending.command, vm: this.vm,
      ...(pending.device === undefined ? {} : { device: pending.device }),
    }));
  }

  private answerInvalid(reason: string, id: QmpRequestId | undefined): void {
    const error = new VmProtocolError(`QMP on ${this.vm}: ${reason}`, this.context());
    this.reportProtocolError(error);
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (pending) {
      this.settle(id as QmpRequestId, pending);
      pending.reject(new VmProtocolError(`QMP ${pending.command} on ${this.vm}: ${reason}`, this.context(pending.device)));
    }
  }

  private failGreeting(message: string): void {
    const waiter = this.greetingWaiter;
    this.greetingWaiter = null;
    waiter?.reject(new VmProtocolError(message, this.context()));
  }

  private settle(id: QmpRequestId, pending: Pending): void {
    clearTimeout(pending.timer);
    this.pending.delete(id);
  }

  private shutDown(reason: VmBackendError): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    this.socket?.destroy();
    const waiter = this.greetingWaiter;
    this.greetingWaiter = null;
    waiter?.reject(reason);
    const pending = [...this.pending.entries()];
    this.pending.clear();
    for (const [, request] of pending) {
      clearTimeout(request.timer);
      request.reject(reason);
    }
    for (const listener of [...this.disconnectListeners]) this.safely(listener, reason);
  }

  private reportProtocolError(error: VmProtocolError): void {
    for (const listener of [...this.protocolErrorListeners]) this.safely(listener, error);
  }

  private safely<T>(listener: Listener<T>, value: T): void {
    try {
      listener(value);
    } catch {
      // A listener's fault must not break the connection.
    }
  }

  private connectionLost(what: string, cause?: unknown): VmConnectionLostError {
    return new VmConnectionLostError(`QMP on ${this.vm}: ${what}`, this.context(undefined, cause));
  }

  private context(device?: string, cause?: unknown) {
    return {
      vm: this.vm,
      hypervisor: 'qmp' as const,
      ...(device === undefined ? {} : { device }),
      ...(cause === undefined ? {} : { cause }),
    };
  }
}
