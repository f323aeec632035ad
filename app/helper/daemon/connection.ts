// One client connection: newline-delimited JSON-RPC requests answered as they finish, and events
// while subscribed. Bounded: a request line must arrive whole in time, an idle connection is
// closed, a client that does not read its answers is not read from either (and dropped past a
// bound), and a client that half-closes still gets its answers. Nothing a client sends can throw
// out of here.
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
import type { PeerCredentials } from './authorize.js';
import type { EventHub } from './event-hub.js';
import type { RateLimitedLog } from './log-limiter.js';

export interface ConnectionLimits {
  maxLineBytes: number;
  /** Requests of one connection being served at once; more are answered "busy". */
  maxInFlight: number;
  /** Unsent bytes one connection may leave unread before it is dropped. */
  maxBufferedBytes: number;
  /** Above this many unsent bytes the connection's requests are not read until the client reads. */
  pauseAboveBytes: number;
  /** A connection with nothing in flight and no subscription is closed after this long. */
  idleTimeoutMs: number;
  /** A request line must be complete this long after its first byte. */
  lineTimeoutMs: number;
}

/** Shared by every connection of a daemon: the cap on unsent bytes across all of them. */
export interface SendBudget {
  /** Unsent bytes of every connection now. */
  buffered(): number;
  maxTotalBytes: number;
  /** Called after each write, so the daemon can keep its peak. */
  wrote(): void;
}

export interface ConnectionDeps {
  dispatch: Dispatch;
  hub: EventHub;
  desk?: DeskSource;
  limits: ConnectionLimits;
  budget: SendBudget;
  log: RateLimitedLog;
}

function socketFd(socket: Socket): number | undefined {
  // libuv's handle carries the fd; Node has no public API for it.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Who is at the other end (SO_PEERCRED), or why that cannot be told. */
export function credentialsOf(socket: Socket): PeerCredentials | string {
  const fd = socketFd(socket);
  if (fd === undefined) return 'the connection has no file descriptor';
  try {
    return peerCredentials(fd);
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Sends a last error about the whole connection (id null), ends our side, and closes the
 * connection once the client has closed its own, or after `lingerMs` at most. Destroyed at once,
 * the client could lose the answer (a write of its own would fail first); so it lingers, and
 * whatever the client still sends is read and thrown away, so its close is seen.
 */
export function closeWithError(socket: Socket, code: number, message: string, lingerMs = 1000): void {
  socket.on('error', () => {});
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.on('data', () => {});
  socket.once('end', () => socket.destroy());
  socket.resume();
  if (socket.writable) socket.end(encodeLine(createJSONRPCErrorResponse(null, code, message)));
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

export function serveConnection(socket: Socket, peer: PeerCredentials, who: string, user: string | null, deps: ConnectionDeps): void {
  const { limits, log } = deps;
  socket.on('error', () => {}); // resets and broken pipes end the connection, nothing more

  let inFlight = 0;
  let unsubscribe: (() => void) | null = null;
  let clientEnded = false;
  let lineTimer: NodeJS.Timeout | null = null;
  let waitingForDrain = false;
  // Lines read and not served yet: one is served per turn of the event loop, so the answers of
  // those before it are written (and a client that does not read them is paused) before the next.
  const held: string[] = [];
  let pumping = false;
  // Too many lines waiting: read no more until they are served.
  let heldFull = false;
  const pump = () => {
    pumping = false;
    if (socket.destroyed || waitingForDrain) return;
    const text = held.shift();
    if (text !== undefined) handleLine(text);
    if (heldFull && held.length < limits.maxInFlight / 2 && !waitingForDrain && !clientEnded) {
      heldFull = false;
      socket.resume();
    }
    if (held.length) schedulePump();
    else finishIfDone();
  };
  const schedulePump = () => {
    if (pumping) return;
    pumping = true;
    setImmediate(pump);
  };

  const drop = (why: string) => {
    log.line('dropped', `dropped ${who}: ${why}`);
    socket.destroy();
  };
  let stopDesk: (() => void) | null = null;

  const send = (message: unknown) => {
    if (socket.destroyed || !socket.writable) return;
    const line = encodeLine(message);
    const bytes = Buffer.byteLength(line);
    // One answer always fits an empty buffer (a large history page); past that the client must read.
    if (socket.writableLength > 0 && socket.writableLength + bytes > limits.maxBufferedBytes) {
      return drop(`${socket.writableLength} bytes of answers and events unread (limit ${limits.maxBufferedBytes})`);
    }
    if (deps.budget.buffered() + bytes > deps.budget.maxTotalBytes) {
      return drop(`the helper holds ${deps.budget.buffered()} unread bytes for all clients (limit ${deps.budget.maxTotalBytes}); this client has ${socket.writableLength}`);
    }
    socket.write(line);
    deps.budget.wrote();
    // Backpressure: read no more requests until the client reads what it was sent.
    if (socket.writableLength > limits.pauseAboveBytes && !waitingForDrain) {
      waitingForDrain = true;
      socket.pause();
      socket.once('drain', () => {
        waitingForDrain = false;
        if (held.length) schedulePump();
        if (!clientEnded && !heldFull) socket.resume();
      });
    }
  };

  const finishIfDone = () => {
    // A client that half-closed gets every answer, then the connection ends.
    if (clientEnded && inFlight === 0 && held.length === 0 && !socket.destroyed) {
      ctx.unsubscribe();
      ctx.unsubscribeDesk();
      socket.end();
    }
  };

  const ctx: ConnectionContext = {
    uid: peer.uid,
    user,
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
      deps.log.line('internal-error', `internal error serving ${request.method}: ${(err as Error).message}`);
      send(createJSONRPCErrorResponse(request.id ?? null, RpcErrorCode.InternalError, `internal error serving ${request.method}`));
    } finally {
      inFlight--;
      finishIfDone();
    }
  };

  const stopLineTimer = () => {
    if (lineTimer) clearTimeout(lineTimer);
    lineTimer = null;
  };

  const handleLine = (text: string) => {
    const parsed = parseRequestLine(text);
    if (!parsed.ok) return send(parsed.response);
    const { request } = parsed;
    // The helper has no notification methods: a request without an id asks for nothing.
    if (request.id === undefined) return;
    if (inFlight >= limits.maxInFlight) {
      return send(createJSONRPCErrorResponse(request.id, RpcErrorCode.Busy, `too many requests in flight on this connection (limit ${limits.maxInFlight}); wait for answers`));
    }
    void serve(request);
  };

  const splitter = new LineSplitter(limits.maxLineBytes, {
    line(text) {
      held.push(text);
      if (held.length >= limits.maxInFlight && !heldFull) {
        heldFull = true;
        socket.pause();
      }
      schedulePump();
    },
    overflow() {
      stopLineTimer();
      log.line('closed', `closed ${who}: a line over ${limits.maxLineBytes} bytes`);
      closeWithError(socket, RpcErrorCode.MessageTooLarge, `message too large: more than ${limits.maxLineBytes} bytes in one line; connection closed`);
    },
  });

  socket.on('data', (chunk: Buffer) => {
    // The clock runs from the first byte of the line still open; a completed line restarts it.
    if (splitter.push(chunk) > 0) stopLineTimer();
    if (splitter.pendingBytes() === 0) return stopLineTimer();
    lineTimer ??= setTimeout(() => {
      splitter.stop();
      log.line('timeout', `closed ${who}: a request line still incomplete after ${limits.lineTimeoutMs} ms`);
      closeWithError(socket, RpcErrorCode.Timeout, `incomplete request: no end of line within ${limits.lineTimeoutMs} ms of its start; connection closed`);
    }, limits.lineTimeoutMs);
  });
  socket.on('end', () => {
    // What came without a final newline is the last request.
    stopLineTimer();
    splitter.end();
    clientEnded = true;
    finishIfDone();
  });

  socket.setTimeout(limits.idleTimeoutMs);
  socket.on('timeout', () => {
    if (inFlight > 0 || held.length || unsubscribe || stopDesk || lineTimer || clientEnded) return;
    log.line('timeout', `closed ${who}: idle for ${limits.idleTimeoutMs} ms`);
    closeWithError(socket, RpcErrorCode.Timeout, `idle for ${limits.idleTimeoutMs} ms with nothing asked; connection closed (connect again when needed)`);
  });

  socket.on('close', () => {
    stopLineTimer();
    splitter.stop();
    ctx.unsubscribe();
    ctx.unsubscribeDesk();
  });
}
