// One client connection: who is calling (SO_PEERCRED), then newline-delimited JSON-RPC requests
// answered as they finish, and events while subscribed. Nothing a client sends can throw out of here.
import type { Socket } from 'node:net';
import { createJSONRPCErrorResponse, createJSONRPCNotification, type JSONRPCRequest } from 'json-rpc-2.0';
import { peerCredentials } from '../../../native/libc.js';
import { encodeLine, LineSplitter } from '../../protocol/framing.js';
import { DESK_NOTIFICATION } from '../../protocol/desk.js';
import { EVENT_NOTIFICATION } from '../../protocol/helper-protocol.js';
import { RpcErrorCode } from '../../protocol/rpc-errors.js';
import type { DeskSource } from '../desk/source.js';
import type { ConnectionContext, Dispatch } from '../rpc/dispatcher.js';
import { parseRequestLine } from '../rpc/envelope.js';
import type { Authorizer, PeerCredentials } from './authorize.js';
import type { EventHub } from './event-hub.js';

export interface ConnectionLimits {
  maxLineBytes: number;
  /** Requests of one connection being served at once; more are answered "busy". */
  maxInFlight: number;
  /** Unsent bytes a client may leave unread before it is dropped (it does not read its events). */
  maxBufferedBytes: number;
}

export interface ConnectionDeps {
  dispatch: Dispatch;
  authorize: Authorizer;
  hub: EventHub;
  desk?: DeskSource;
  limits: ConnectionLimits;
  log: (line: string) => void;
}

function socketFd(socket: Socket): number | undefined {
  // libuv's handle carries the fd; Node has no public API for it.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function credentialsOf(socket: Socket): PeerCredentials | string {
  const fd = socketFd(socket);
  if (fd === undefined) return 'the connection has no file descriptor';
  try {
    return peerCredentials(fd);
  } catch (err) {
    return (err as Error).message;
  }
}

/** Sends a last error about the whole connection (id null), then closes it. */
function closeWithError(socket: Socket, code: number, message: string): void {
  socket.pause();
  if (!socket.destroyed && socket.writable) socket.end(encodeLine(createJSONRPCErrorResponse(null, code, message)));
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function serveConnection(socket: Socket, deps: ConnectionDeps): void {
  const { limits, log } = deps;
  socket.on('error', () => {}); // resets and broken pipes end the connection, nothing more
  const peer = credentialsOf(socket);
  if (typeof peer === 'string') {
    log(`refused a connection: cannot read its peer credentials (${peer})`);
    return closeWithError(socket, RpcErrorCode.NotAuthorized, `cannot tell who is connecting: ${peer}`);
  }
  const verdict = deps.authorize(peer);
  if (!verdict.allowed) {
    log(`refused pid ${peer.pid}: ${verdict.reason}`);
    return closeWithError(socket, RpcErrorCode.NotAuthorized, verdict.reason);
  }

  let inFlight = 0;
  let unsubscribe: (() => void) | null = null;
  let stopDesk: (() => void) | null = null;

  const send = (message: unknown) => {
    if (socket.destroyed || !socket.writable) return;
    if (socket.writableLength > limits.maxBufferedBytes) {
      log(`dropped ${verdict.who}: ${socket.writableLength} bytes unread`);
      socket.destroy();
      return;
    }
    socket.write(encodeLine(message));
  };

  const ctx: ConnectionContext = {
    uid: peer.uid,
    subscribe() {
      unsubscribe ??= deps.hub.add((event) => send(createJSONRPCNotification(EVENT_NOTIFICATION, event)));
    },
    unsubscribe() {
      unsubscribe?.();
      unsubscribe = null;
    },
    subscribeDesk() {
      stopDesk ??= deps.desk?.subscribe((event) => send(createJSONRPCNotification(DESK_NOTIFICATION, event))) ?? null;
    },
    unsubscribeDesk() {
      stopDesk?.();
      stopDesk = null;
    },
  };

  const serve = async (request: JSONRPCRequest) => {
    inFlight++;
    try {
      const response = await deps.dispatch(request, ctx);
      if (response) send(response);
    } catch (err) {
      log(`internal error serving ${request.method}: ${(err as Error).message}`);
      send(createJSONRPCErrorResponse(request.id ?? null, RpcErrorCode.InternalError, `internal error serving ${request.method}`));
    } finally {
      inFlight--;
    }
  };

  const splitter = new LineSplitter(limits.maxLineBytes, {
    line(text) {
      const parsed = parseRequestLine(text);
      if (!parsed.ok) return send(parsed.response);
      const { request } = parsed;
      // The helper has no notification methods: a request without an id asks for nothing.
      if (request.id === undefined) return;
      if (inFlight >= limits.maxInFlight) {
        return send(createJSONRPCErrorResponse(request.id, RpcErrorCode.Busy, `too many requests in flight on this connection (limit ${limits.maxInFlight}); wait for answers`));
      }
      void serve(request);
    },
    overflow() {
      log(`closed ${verdict.who}: a line over ${limits.maxLineBytes} bytes`);
      closeWithError(socket, RpcErrorCode.MessageTooLarge, `message too large: more than ${limits.maxLineBytes} bytes in one line; connection closed`);
    },
  });

  socket.on('data', (chunk: Buffer) => splitter.push(chunk));
  socket.on('close', () => {
    splitter.stop();
    ctx.unsubscribe();
    ctx.unsubscribeDesk();
  });
}
