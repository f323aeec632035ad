// A client of the helper over its Unix socket, for the CLI and Electron's main process: typed
// calls whose answers are validated, and the `event` notifications of a subscription.
import { connect, type Socket } from 'node:net';
import { createJSONRPCErrorResponse, JSONRPCClient, JSONRPCErrorException, type JSONRPCResponse } from 'json-rpc-2.0';
import type { ServiceEvent } from '../domain/switch/service.js';
import { DESK_NOTIFICATION, deskEventSchema, type DeskEvent } from './desk.js';
import { encodeLine, LineSplitter } from './framing.js';
import { EVENT_NOTIFICATION, helperMethods, MAX_LINE_BYTES, serviceEventSchema, type MethodName, type ParamsOf, type ResultOf } from './helper-protocol.js';
import { HelperRpcError, RpcErrorCode } from './rpc-errors.js';

/** The socket could not be reached at all (no helper, no permission); `code` is the errno name. */
export class HelperConnectError extends Error {
  constructor(readonly socketPath: string, readonly code: string, message: string) {
    super(message);
    this.name = 'HelperConnectError';
  }
}

/** The helper ended the connection (or died) before answering `method`. */
export class HelperLostError extends Error {
  constructor(readonly socketPath: string, readonly method: string) {
    super(`the helper at ${socketPath} closed the connection before answering ${method}`);
    this.name = 'HelperLostError';
  }
}

/** The helper took longer than the deadline to answer `method`; it may still be working on it. */
export class HelperTimeoutError extends Error {
  constructor(readonly socketPath: string, readonly method: string, readonly timeoutMs: number) {
    super(`the helper at ${socketPath} did not answer ${method} within ${formatSeconds(timeoutMs)}; is it stuck? (journalctl -u baton-helper)`);
    this.name = 'HelperTimeoutError';
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** How long each call may take: a switch runs every step of a move (a VM shutdown, a slow reset). */
export const DEFAULT_CALL_TIMEOUTS_MS: Record<MethodName, number> = {
  hello: 10_000,
  status: 30_000,
  switch: 15 * 60_000,
  history: 30_000,
  reconcile: 120_000,
  subscribe: 10_000,
  unsubscribe: 10_000,
  'desk.snapshot': 30_000,
  'desk.subscribe': 30_000,
  'desk.unsubscribe': 10_000,
  'desk.history': 30_000,
};

export interface ConnectOptions {
  connectTimeoutMs?: number;
  /** Deadline of each call, by method; DEFAULT_CALL_TIMEOUTS_MS for those left out. */
  callTimeoutsMs?: Partial<Record<MethodName, number>>;
}

/** A code that never travels: it marks the client's own deadline inside json-rpc-2.0. */
const CLIENT_DEADLINE = -32098;

export interface HelperClient {
  call<M extends MethodName>(method: M, ...params: undefined extends ParamsOf<M> ? [ParamsOf<M>?] : [ParamsOf<M>]): Promise<ResultOf<M>>;
  /** Events of a subscription (call `subscribe` to start them). Returns the way to stop listening. */
  onEvent(listener: (event: ServiceEvent) => void): () => void;
  /** Desk events (call `desk.subscribe` to start them), each validated. Returns the way to stop listening. */
  onDesk(listener: (event: DeskEvent) => void): () => void;
  /** The connection ended; `reason` is the helper's last word when it closed on an error. */
  onClose(listener: (reason: HelperRpcError | null) => void): void;
  close(): void;
}

const CONNECT_ERRORS: Record<string, string> = {
  ENOENT: 'no such socket; is the helper running? (systemctl status baton-helper.socket)',
  ECONNREFUSED: 'nothing is listening; is the helper running? (systemctl status baton-helper.socket)',
  EACCES: 'permission denied; are you in the helper group? (see helper.group in /etc/baton/baton.yaml)',
  ENOTSOCK: 'not a socket',
};

export function connectHelper(socketPath: string, opts: ConnectOptions = {}): Promise<HelperClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HelperConnectError(socketPath, 'ETIMEDOUT', `cannot reach the helper at ${socketPath}: no answer within ${opts.connectTimeoutMs ?? 5000} ms`));
    }, opts.connectTimeoutMs ?? 5000);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code ?? 'EIO';
      reject(new HelperConnectError(socketPath, code, `cannot reach the helper at ${socketPath}: ${CONNECT_ERRORS[code] ?? err.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(wrapSocket(socket, socketPath, { ...DEFAULT_CALL_TIMEOUTS_MS, ...opts.callTimeoutsMs }));
    });
  });
}

function wrapSocket(socket: Socket, socketPath: string, timeouts: Record<MethodName, number>): HelperClient {
  const eventListeners = new Set<(event: ServiceEvent) => void>();
  const deskListeners = new Set<(event: DeskEvent) => void>();
  const closeListeners: ((reason: HelperRpcError | null) => void)[] = [];
  // Set when the helper ends the connection with an error (not authorized, line too large).
  let fatal: HelperRpcError | null = null;
  let closed = false;
  const rpc = new JSONRPCClient((payload) => {
    if (closed) throw fatal ?? new HelperRpcError(RpcErrorCode.InternalError, 'the connection to the helper is closed');
    socket.write(encodeLine(payload));
  });

  const handleMessage = (message: Record<string, unknown>) => {
    if (message.method === EVENT_NOTIFICATION) {
      const event = serviceEventSchema.safeParse(message.params);
      if (event.success) for (const listener of eventListeners) listener(event.data as ServiceEvent);
      return;
    }
    if (message.method === DESK_NOTIFICATION) {
      const event = deskEventSchema.safeParse(message.params);
      if (event.success) for (const listener of deskListeners) listener(event.data);
      return;
    }
    const error = message.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
    if (message.id === null && error) {
      // An answer to no request: the helper speaks about the whole connection.
      fatal = new HelperRpcError(Number(error.code), String(error.message), error.data);
      rpc.rejectAllPendingRequests(fatal.message);
      return;
    }
    rpc.receive(message as unknown as JSONRPCResponse);
  };
  const splitter = new LineSplitter(MAX_LINE_BYTES, {
    line(text) {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        return socket.destroy(new Error('the helper sent a line that is not JSON'));
      }
      if (message && typeof message === 'object' && !Array.isArray(message)) handleMessage(message as Record<string, unknown>);
    },
    overflow: () => socket.destroy(new Error('the helper sent a line over the size limit')),
  });
  socket.on('data', (chunk: Buffer) => splitter.push(chunk));
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    rpc.rejectAllPendingRequests(fatal?.message ?? 'the helper closed the connection');
    for (const listener of closeListeners) listener(fatal);
  });

  return {
    async call(method, ...rest) {
      const params = rest[0];
      let raw: unknown;
      const timeoutMs = timeouts[method];
      try {
        raw = await rpc.timeout(timeoutMs, (id) => createJSONRPCErrorResponse(id, CLIENT_DEADLINE, 'deadline')).request(method, params);
      } catch (err) {
        // Pending calls are failed with the helper's last word when it closed on an error.
        if (fatal) throw fatal;
        if (err instanceof JSONRPCErrorException && err.code === CLIENT_DEADLINE) throw new HelperTimeoutError(socketPath, method, timeoutMs);
        if (closed) throw new HelperLostError(socketPath, method);
        if (err instanceof JSONRPCErrorException) throw new HelperRpcError(err.code, err.message, err.data);
        throw err instanceof HelperRpcError ? err : new HelperRpcError(RpcErrorCode.InternalError, (err as Error).message);
      }
      const parsed = helperMethods[method].result.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new HelperRpcError(RpcErrorCode.InternalError, `the helper's answer to ${method} has an unexpected shape: ${issue?.path.join('.') || '(top)'}: ${issue?.message}`);
      }
      return parsed.data as ResultOf<typeof method>;
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onDesk(listener) {
      deskListeners.add(listener);
      return () => deskListeners.delete(listener);
    },
    onClose(listener) {
      if (closed) listener(fatal);
      else closeListeners.push(listener);
    },
    close() {
      socket.end();
    },
  };
}
