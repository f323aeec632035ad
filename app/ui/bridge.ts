// One browser WebSocket bridged to one connection to the helper: JSON-RPC requests checked here the
// way the helper checks them (method, params; the helper checks everything again behind), answers
// and the `event` and `desk` notifications passed back. Bounded: requests in flight, unread bytes.
import type { WebSocket } from 'ws';
import { DESK_NOTIFICATION } from '../protocol/desk.js';
import { connectHelper, HelperConnectError, type HelperClient } from '../protocol/helper-client.js';
import { EVENT_NOTIFICATION, helperMethods, isMethodName, type MethodName } from '../protocol/helper-protocol.js';
import { HelperRpcError, RpcErrorCode } from '../protocol/rpc-errors.js';

/** What a browser may call: everything a desk needs; nothing that only an administrator should (reconcile). */
export const BRIDGED_METHODS: readonly MethodName[] = ['hello', 'status', 'switch', 'history', 'subscribe', 'unsubscribe', 'desk.snapshot', 'desk.subscribe', 'desk.unsubscribe', 'desk.history'];

export interface BridgeLimits {
  maxInFlight: number;
  /** Unsent bytes before a browser that does not read is dropped. */
  maxBufferedBytes: number;
}

export const DEFAULT_BRIDGE_LIMITS: BridgeLimits = { maxInFlight: 64, maxBufferedBytes: 16 * 1024 * 1024 };

type Id = string | number;
type Reply = { jsonrpc: '2.0'; id: Id | null; result?: unknown; error?: { code: number; message: string } };

function describe(method: string, error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const shown = error.issues.slice(0, 5).map((i) => `params${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`);
  return `${method}: ${shown.join('; ')}`;
}

/** Checks one browser message; returns the call to make or the error to answer. */
export function checkRequest(text: string): { ok: true; id: Id; method: MethodName; params: unknown } | { ok: false; reply: Reply } {
  const fail = (id: Id | null, code: number, message: string) => ({ ok: false as const, reply: { jsonrpc: '2.0' as const, id, error: { code, message } } });
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return fail(null, RpcErrorCode.ParseError, 'not JSON');
  }
  if (!message || typeof message !== 'object' || Array.isArray(message)) return fail(null, RpcErrorCode.InvalidRequest, 'expected one JSON-RPC request object (batches are not supported)');
  const { jsonrpc, id, method, params } = message as Record<string, unknown>;
  const validId = (typeof id === 'string' && id.length <= 128) || (typeof id === 'number' && Number.isSafeInteger(id));
  if (jsonrpc !== '2.0' || !validId || typeof method !== 'string') return fail(validId ? (id as Id) : null, RpcErrorCode.InvalidRequest, 'expected {"jsonrpc":"2.0","id":<string or integer>,"method":<string>,"params"?}');
  if (!isMethodName(method) || !BRIDGED_METHODS.includes(method)) {
    return fail(id as Id, RpcErrorCode.MethodNotFound, `unknown method ${JSON.stringify(method.slice(0, 64))}; the desk offers ${BRIDGED_METHODS.join(', ')}`);
  }
  const checked = helperMethods[method].params.safeParse(params);
  if (!checked.success) return fail(id as Id, RpcErrorCode.InvalidParams, describe(method, checked.error));
  // A switch from the browser is the browser's, whatever the page says.
  const forwarded = method === 'switch' ? { ...(params as object), requestedBy: 'browser' } : params;
  return { ok: true, id: id as Id, method, params: forwarded };
}

/** WebSocket close codes the renderer acts on: not allowed (do not retry), helper away (retry later). */
export const CLOSE_NOT_ALLOWED = 4403;
export const CLOSE_HELPER_DOWN = 4502;

function closeCodeFor(rpcCode: number): number {
  if (rpcCode === RpcErrorCode.NotAuthorized) return CLOSE_NOT_ALLOWED;
  if (rpcCode === RpcErrorCode.HelperUnavailable) return CLOSE_HELPER_DOWN;
  return 1011;
}

export async function bridgeSocket(ws: WebSocket, socketPath: string, limits: BridgeLimits = DEFAULT_BRIDGE_LIMITS): Promise<void> {
  const send = (message: unknown) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > limits.maxBufferedBytes) {
      ws.close(1008, 'too many unread messages');
      return;
    }
    ws.send(JSON.stringify(message));
  };
  const closeWith = (code: number, message: string) => {
    send({ jsonrpc: '2.0', id: null, error: { code, message } });
    ws.close(closeCodeFor(code), Buffer.from(message).subarray(0, 120).toString());
  };

  // Messages that arrive while the helper connection opens wait for it.
  const early: string[] = [];
  let client: HelperClient | null = null;
  let inFlight = 0;
  const handle = (text: string) => {
    const checked = checkRequest(text);
    if (!checked.ok) return send(checked.reply);
    if (inFlight >= limits.maxInFlight) {
      return send({ jsonrpc: '2.0', id: checked.id, error: { code: RpcErrorCode.Busy, message: `too many requests in flight (limit ${limits.maxInFlight}); wait for answers` } });
    }
    inFlight++;
    (client!.call as (m: MethodName, p?: unknown) => Promise<unknown>)(checked.method, checked.params).then(
      (result) => send({ jsonrpc: '2.0', id: checked.id, result }),
      (err: unknown) => {
        const e = err instanceof HelperRpcError ? err : new HelperRpcError(RpcErrorCode.InternalError, (err as Error).message);
        send({ jsonrpc: '2.0', id: checked.id, error: { code: e.code, message: e.message } });
      },
    ).finally(() => inFlight--);
  };
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    if (text === null) return send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.InvalidRequest, message: 'binary messages are not supported; send JSON text' } });
    if (client) handle(text);
    else if (early.length < limits.maxInFlight) early.push(text);
    else {
      const checked = checkRequest(text);
      send(checked.ok ? { jsonrpc: '2.0', id: checked.id, error: { code: RpcErrorCode.Busy, message: 'too many requests before the helper answered; wait for answers' } } : checked.reply);
    }
  });
  ws.on('error', () => {});

  try {
    client = await connectHelper(socketPath);
  } catch (err) {
    const message = err instanceof HelperConnectError ? err.message : `cannot reach the helper: ${(err as Error).message}`;
    return closeWith(RpcErrorCode.HelperUnavailable, message);
  }
  const connected = client;
  if (ws.readyState !== ws.OPEN) return connected.close();
  connected.onEvent((event) => send({ jsonrpc: '2.0', method: EVENT_NOTIFICATION, params: event }));
  connected.onDesk((event) => send({ jsonrpc: '2.0', method: DESK_NOTIFICATION, params: event }));
  connected.onClose((reason) => {
    if (ws.readyState !== ws.OPEN) return;
    if (reason) closeWith(reason.code, reason.message);
    else closeWith(RpcErrorCode.HelperUnavailable, 'the helper closed the connection (stopped or restarted)');
  });
  ws.on('close', () => connected.close());
  for (const text of early.splice(0)) handle(text);
}
