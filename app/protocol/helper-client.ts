// A client of the helper over its Unix socket, for the CLI and Electron's main process: typed
// calls whose answers are validated, and the `event` notifications of a subscription.
import { connect, type Socket } from 'node:net';
import { JSONRPCClient, JSONRPCErrorException, type JSONRPCResponse } from 'json-rpc-2.0';
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

export function connectHelper(socketPath: string, opts: { connectTimeoutMs?: number } = {}): Promise<HelperClient> {
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
      resolve(wrapSocket(socket));
    });
  });
}

function wrapSocket(socket: Socket): HelperClient {
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
      try {
        raw = await rpc.request(method, params);
      } catch (err) {
        // Pending calls are failed with the helper's last word when it closed on an error.
        if (fatal) throw fatal;
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
