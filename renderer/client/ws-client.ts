// DeskClient over the WebSocket `baton ui` serves: JSON-RPC 2.0 text frames, the helper's own
// methods (desk.subscribe, desk.snapshot, desk.history, switch) bridged one to one, and its `desk`
// notifications. Every answer and event is validated with the protocol's schemas before the
// renderer sees it. Reconnects with backoff when the link drops (not a poll: nothing is asked
// while connected).
import { z } from 'zod';
import { DESK_NOTIFICATION, deskEventSchema, deskHistoryPageSchema, deskSnapshotSchema, deskSubscribeResultSchema } from '../../app/protocol/desk.js';
import { switchResultSchema } from '../../app/protocol/common-schemas.js';
import { RpcErrorCode } from '../../app/protocol/rpc-errors.js';
import { DeskClientError, type ConnectionState, type DeskClient, type DeskEvent, type DeskHistoryPage, type DeskHistoryQuery, type DeskSnapshot, type DeskSwitchResult } from './types.js';

/** Close codes the bridge uses to say why it ended a connection (4000-4999 are the application's). */
export const CLOSE_NOT_ALLOWED = 4403;
export const CLOSE_HELPER_DOWN = 4502;

/** Minimal WebSocket surface, so tests can hand in `ws`'s client under Node. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface WsClientOptions {
  url: string;
  /**
   * The token `baton ui` printed; sent only as the subprotocol baton.token.<token>, never in the URL.
   * null: the page found none, so it is "not allowed" at once (baton ui would refuse every try).
   */
  token?: string | null;
  makeSocket?: (url: string, protocols: string[]) => SocketLike;
  /** Reconnect delays in ms (the last one repeats). */
  backoffMs?: readonly number[];
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  schema: z.ZodType;
}

export class WsDeskClient implements DeskClient {
  private socket: SocketLike | null = null;
  private state: ConnectionState = { kind: 'connecting', attempt: 0 };
  private readonly listeners = new Set<{ onEvent: (e: DeskEvent) => void; onConnection: (s: ConnectionState) => void }>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  /** The snapshot desk.subscribe answered: the first snapshot() after a connect takes it instead of asking again. */
  private subscribedSnapshot: DeskSnapshot | null = null;
  /** The error the bridge announced (id null) just before it closed: says why the connection ends. */
  private lastSocketError: { code: number | undefined; message: string } | null = null;
  private readonly makeSocket: (url: string, protocols: string[]) => SocketLike;
  private readonly backoff: readonly number[];

  constructor(private readonly options: WsClientOptions) {
    this.makeSocket = options.makeSocket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike);
    this.backoff = options.backoffMs ?? [250, 500, 1000, 2000, 5000];
  }

  /**
   * The client for the page `baton ui` served: the token comes from the URL fragment (#token=…, kept
   * for reloads in this tab's sessionStorage) and the socket lives at /ws on the same origin.
   */
  static fromLocation(location: PageLocation, storage: Storage, history: Pick<History, 'replaceState' | 'state'>): WsDeskClient {
    return new WsDeskClient({ url: wsUrlFor(location), token: takeToken(location, storage, history) });
  }

  connection(): ConnectionState {
    return this.state;
  }

  subscribe(onEvent: (event: DeskEvent) => void, onConnection: (state: ConnectionState) => void): () => void {
    const listener = { onEvent, onConnection };
    this.listeners.add(listener);
    onConnection(this.state);
    if (this.socket === null && this.retry === null) this.connect();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  async snapshot(): Promise<DeskSnapshot> {
    const cached = this.subscribedSnapshot;
    if (cached) {
      this.subscribedSnapshot = null;
      return cached;
    }
    return this.call('desk.snapshot', undefined, deskSnapshotSchema);
  }

  switchGpu(gpu: string, target: string): Promise<DeskSwitchResult> {
    return this.call('switch', { gpu, target, requestedBy: 'browser' }, switchResultSchema);
  }

  historyPage(query: DeskHistoryQuery): Promise<DeskHistoryPage> {
    return this.call('desk.history', query, deskHistoryPageSchema);
  }

  /** Stop for good (the page is going away). */
  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close(1000, 'closed by the page');
    }
    this.failPending(new DeskClientError('the connection was closed'));
  }

  // --- internals ---

  private connect(): void {
    if (this.options.token === null) {
      this.setState({ kind: 'not-allowed', message: 'This page has no token: open the URL that baton ui printed (it ends in #token=…).' });
      return;
    }
    let socket: SocketLike;
    try {
      socket = this.makeSocket(this.options.url, subprotocolsFor(this.options.token));
    } catch (err) {
      this.setState({ kind: 'error', message: `cannot open the WebSocket: ${(err as Error).message}` });
      return;
    }
    this.socket = socket;
    let opened = false;
    this.lastSocketError = null;
    socket.onopen = () => {
      opened = true;
      void this.afterOpen(socket);
    };
    socket.onmessage = (ev) => this.onMessage(ev.data);
    socket.onerror = () => { /* onclose follows and says what happened */ };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.subscribedSnapshot = null;
      this.failPending(new DeskClientError('the connection to baton ui closed'));
      const announced = this.lastSocketError;
      if (ev.code === CLOSE_NOT_ALLOWED || announced?.code === RpcErrorCode.NotAuthorized) {
        this.setState({ kind: 'not-allowed', message: announced?.message || ev.reason || 'baton ui refused this page (wrong or missing token).' });
        return; // retrying with the same credentials cannot help
      }
      const message = announced
        ? announced.message
        : ev.code === CLOSE_HELPER_DOWN
        ? ev.reason || 'The helper is not running (its socket refused baton ui).'
        : opened
          ? `The connection to baton ui dropped${ev.reason ? `: ${ev.reason}` : ''}.`
          : 'Cannot reach baton ui: is it still running? (A wrong token is refused too.)';
      this.setState({ kind: 'helper-down', message });
      this.scheduleReconnect();
    };
  }

  private async afterOpen(socket: SocketLike): Promise<void> {
    try {
      const answer = await this.call('desk.subscribe', undefined, deskSubscribeResultSchema);
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.subscribedSnapshot = answer.snapshot;
      this.setState({ kind: 'connected' });
    } catch (err) {
      if (this.socket !== socket) return;
      const e = err as DeskClientError;
      if (e.code === RpcErrorCode.NotAuthorized) this.setState({ kind: 'not-allowed', message: e.message });
      else this.setState({ kind: 'error', message: `the helper did not take the subscription: ${e.message}` });
    }
  }

  private scheduleReconnect(): void {
    if (this.listeners.size === 0) return;
    const delay = this.backoff[Math.min(this.attempt, this.backoff.length - 1)] ?? 1000;
    this.attempt++;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.setState({ kind: 'connecting', attempt: this.attempt });
      this.connect();
    }, delay);
  }

  private call<T>(method: string, params: unknown, schema: z.ZodType<T>): Promise<T> {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return Promise.reject(new DeskClientError(`not connected to the helper (${this.state.kind})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, schema });
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
    try {
      message = JSON.parse(data);
    } catch {
      return; // not JSON-RPC: ignore it rather than trust it
    }
    if (typeof message !== 'object' || message === null) return;
    if (message.method === DESK_NOTIFICATION) {
      const event = deskEventSchema.safeParse(message.params);
      if (!event.success) {
        console.warn('baton: dropped a desk event that does not match the protocol', event.error.issues);
        return;
      }
      for (const l of this.listeners) l.onEvent(event.data);
      return;
    }
    if (message.id === null && message.error) {
      this.lastSocketError = {
        code: typeof message.error.code === 'number' ? message.error.code : undefined,
        message: typeof message.error.message === 'string' ? message.error.message : 'baton ui reported an error',
      };
      return;
    }
    if (typeof message.id !== 'number') return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) {
      const code = typeof message.error.code === 'number' ? message.error.code : undefined;
      waiting.reject(new DeskClientError(typeof message.error.message === 'string' ? message.error.message : 'the helper refused the call', code));
      return;
    }
    const parsed = waiting.schema.safeParse(message.result);
    if (parsed.success) waiting.resolve(parsed.data);
    else waiting.reject(new DeskClientError(`the helper's answer does not match the protocol: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`));
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const l of this.listeners) l.onConnection(state);
  }
}

export type PageLocation = Pick<Location, 'protocol' | 'host' | 'pathname' | 'search' | 'hash'>;

/** Where this tab keeps the token: sessionStorage is per origin (port included) and per tab. */
export const TOKEN_STORAGE_KEY = 'baton.token';
/** The subprotocol the bridge answers with; the token rides next to it. */
export const BRIDGE_SUBPROTOCOL = 'baton.v1';
export const TOKEN_SUBPROTOCOL_PREFIX = 'baton.token.';

/**
 * The token for this page: from the fragment `baton ui` printed (#token=…), which is then stored
 * for reloads and removed from the address bar (and so from the history and from screenshots);
 * else the one stored by an earlier load in this tab; else null.
 */
export function takeToken(location: PageLocation, storage: Pick<Storage, 'getItem' | 'setItem'>, history: Pick<History, 'replaceState' | 'state'>): string | null {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    try {
      storage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    } catch {
      // Storage refused (private mode, quota): this load still works, a reload will not.
    }
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    return fromUrl;
  }
  try {
    return storage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** What the socket offers: the bridge's protocol, and the token when there is one. */
export function subprotocolsFor(token: string | null | undefined): string[] {
  return token ? [BRIDGE_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`] : [BRIDGE_SUBPROTOCOL];
}

/** ws(s)://host/ws for the page at this location; the token is never put in it. */
export function wsUrlFor(location: Pick<Location, 'protocol' | 'host'>): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}
