// @vitest-environment node
// The WebSocket DeskClient against a real `ws` server playing baton ui's bridge: what it validates,
// how it reads each way a connection ends, and that it reconnects.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { CLOSE_HELPER_DOWN, CLOSE_NOT_ALLOWED, TOKEN_STORAGE_KEY, takeToken, WsDeskClient, wsUrlFor, type PageLocation, type SocketLike } from '../../../renderer/client/ws-client';
import type { ConnectionState, DeskEvent } from '../../../renderer/client/types';
import { fakeDesk, fakeHistory } from '../../../renderer/client/fake-desk';

type Handler = (msg: { id: number; method: string; params?: unknown }, socket: WebSocket) => void;

const servers: WebSocketServer[] = [];
const clients: WsDeskClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function bridge(handler: Handler): Promise<{ url: string; server: WebSocketServer; sockets: WebSocket[]; upgrades: { url: string; protocols: string }[] }> {
  // Answers with baton.v1 as baton ui does (a browser drops a socket whose answer names none it offered).
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has('baton.v1') ? 'baton.v1' : false) });
  servers.push(server);
  const sockets: WebSocket[] = [];
  const upgrades: { url: string; protocols: string }[] = [];
  server.on('connection', (socket, req) => {
    upgrades.push({ url: req.url ?? '', protocols: String(req.headers['sec-websocket-protocol'] ?? '') });
    sockets.push(socket);
    socket.on('message', (data) => handler(JSON.parse(String(data)), socket));
  });
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/ws`, server, sockets, upgrades };
}

function answer(socket: WebSocket, id: number, result: unknown): void {
  socket.send(JSON.stringify({ jsonrpc: '2.0', id, result }));
}

function client(url: string, token?: string | null): { c: WsDeskClient; states: ConnectionState[]; events: DeskEvent[] } {
  const c = new WsDeskClient({ url, token, makeSocket: (u, p) => new WebSocket(u, p) as unknown as SocketLike, backoffMs: [20] });
  clients.push(c);
  const states: ConnectionState[] = [];
  const events: DeskEvent[] = [];
  c.subscribe((e) => events.push(e), (s) => states.push(s));
  return { c, states, events };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('condition not met in 2 s');
}

describe('WsDeskClient', () => {
  it('subscribes on open, hands out that snapshot first, then validates calls and events', async () => {
    const desk = fakeDesk();
    const seen: string[] = [];
    const { url, sockets } = await bridge((msg, socket) => {
      seen.push(msg.method);
      if (msg.method === 'desk.subscribe') answer(socket, msg.id, { subscribed: true, snapshot: desk });
      else if (msg.method === 'desk.snapshot') answer(socket, msg.id, { ...desk, revision: 7 });
      else if (msg.method === 'desk.history') answer(socket, msg.id, { entries: fakeHistory(3), nextCursor: null, total: 3 });
      else if (msg.method === 'switch') socket.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32005, message: 'gpu-a is busy' } }));
    });
    const { c, states, events } = client(url);
    await until(() => states.at(-1)?.kind === 'connected');
    expect(states.map((s) => s.kind)).toEqual(['connecting', 'connected']);
    expect((await c.snapshot()).revision).toBe(1); // the subscription's own
    expect((await c.snapshot()).revision).toBe(7); // asked again
    expect((await c.historyPage({ limit: 3 })).entries).toHaveLength(3);
    await expect(c.switchGpu('gpu-a', 'win11')).rejects.toMatchObject({ message: 'gpu-a is busy', code: -32005 });
    expect(seen).toEqual(['desk.subscribe', 'desk.snapshot', 'desk.history', 'switch']);

    sockets[0]!.send(JSON.stringify({ jsonrpc: '2.0', method: 'desk', params: { kind: 'desk-changed', snapshot: { ...desk, revision: 9 } } }));
    sockets[0]!.send(JSON.stringify({ jsonrpc: '2.0', method: 'desk', params: { kind: 'desk-changed', snapshot: { revision: 'ten' } } }));
    sockets[0]!.send('not json');
    sockets[0]!.send(JSON.stringify({ jsonrpc: '2.0', method: 'desk', params: { kind: 'step-started', switchId: 's1', step: 'reset', detail: 'FLR', at: 'now' } }));
    await until(() => events.length >= 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(events.map((e) => e.kind)).toEqual(['desk-changed', 'step-started']);
  });

  it('rejects an answer that does not match the protocol, naming the field', async () => {
    const { url } = await bridge((msg, socket) => {
      if (msg.method === 'desk.subscribe') answer(socket, msg.id, { subscribed: true, snapshot: fakeDesk() });
      else answer(socket, msg.id, { entries: [{ id: 1 }], nextCursor: null, total: 1 });
    });
    const { c, states } = client(url);
    await until(() => states.at(-1)?.kind === 'connected');
    await expect(c.historyPage({})).rejects.toThrow(/does not match the protocol: entries\.0\.id/);
  });

  it('a 4403 close is "not allowed" and is not retried; a 4502 close is "helper down" and is', async () => {
    let connections = 0;
    const { url } = await bridge((msg, socket) => {
      if (msg.method !== 'desk.subscribe') return;
      connections++;
      if (connections === 1) socket.close(CLOSE_HELPER_DOWN, 'connect ENOENT /run/baton/helper.sock');
      else if (connections === 2) answer(socket, msg.id, { subscribed: true, snapshot: fakeDesk() });
    });
    const { states } = client(url);
    await until(() => states.some((s) => s.kind === 'connected'));
    expect(states.map((s) => s.kind)).toEqual(['connecting', 'helper-down', 'connecting', 'connected']);
    expect(states[1]).toEqual({ kind: 'helper-down', message: 'connect ENOENT /run/baton/helper.sock' });
    expect(states[2]).toEqual({ kind: 'connecting', attempt: 1 });

    const refused = await bridge((_msg, socket) => socket.close(CLOSE_NOT_ALLOWED, 'wrong token'));
    const second = client(refused.url);
    await until(() => second.states.at(-1)?.kind === 'not-allowed');
    await new Promise((r) => setTimeout(r, 100));
    expect(second.states).toEqual([{ kind: 'connecting', attempt: 0 }, { kind: 'not-allowed', message: 'wrong token' }]);
    expect(refused.sockets).toHaveLength(1);
  });

  it('reads the error baton ui announces before closing (helper unavailable: retry; not authorized: stop)', async () => {
    let connections = 0;
    const { url } = await bridge((msg, socket) => {
      if (msg.method !== 'desk.subscribe') return;
      connections++;
      if (connections === 1) {
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32007, message: 'cannot reach the helper at /run/baton/helper.sock: ENOENT' } }));
        socket.close(1011, 'cannot reach the helper');
      } else {
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'uid 1000 is not in group baton' } }));
        socket.close(1011, 'not authorized');
      }
    });
    const { states } = client(url);
    await until(() => states.at(-1)?.kind === 'not-allowed');
    await new Promise((r) => setTimeout(r, 100));
    expect(states).toEqual([
      { kind: 'connecting', attempt: 0 },
      { kind: 'helper-down', message: 'cannot reach the helper at /run/baton/helper.sock: ENOENT' },
      { kind: 'connecting', attempt: 1 },
      { kind: 'not-allowed', message: 'uid 1000 is not in group baton' },
    ]);
    expect(connections).toBe(2);
  });

  it('a call in flight when the link drops is rejected, not left hanging', async () => {
    const { url, sockets } = await bridge((msg, socket) => {
      if (msg.method === 'desk.subscribe') answer(socket, msg.id, { subscribed: true, snapshot: fakeDesk() });
    });
    const { c, states } = client(url);
    await until(() => states.at(-1)?.kind === 'connected');
    const pending = c.switchGpu('gpu-a', 'win11');
    await until(() => sockets.length === 1);
    sockets[0]!.terminate();
    await expect(pending).rejects.toThrow(/closed/);
    await until(() => states.some((s) => s.kind === 'helper-down'));
  });

  it('a helper refusal of the subscription (not authorized) is "not allowed"', async () => {
    const { url } = await bridge((msg, socket) => socket.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32001, message: 'uid 1000 may not use the helper' } })));
    const { states } = client(url);
    await until(() => states.at(-1)?.kind === 'not-allowed');
    expect(states.at(-1)).toEqual({ kind: 'not-allowed', message: 'uid 1000 may not use the helper' });
  });

  it('offers the token as a subprotocol next to baton.v1, never in the URL, on every connection', async () => {
    let connections = 0;
    const { url, upgrades, sockets } = await bridge((msg, socket) => {
      if (msg.method !== 'desk.subscribe') return;
      connections++;
      if (connections === 1) socket.close(CLOSE_HELPER_DOWN, 'helper restarting');
      else answer(socket, msg.id, { subscribed: true, snapshot: fakeDesk() });
    });
    const { states } = client(url, 'T0k3n-_x');
    await until(() => states.at(-1)?.kind === 'connected');
    expect(upgrades).toEqual([
      { url: '/ws', protocols: 'baton.v1,baton.token.T0k3n-_x' },
      { url: '/ws', protocols: 'baton.v1,baton.token.T0k3n-_x' },
    ]);
    expect(sockets.at(-1)!.protocol).toBe('baton.v1');
  });

  it('a page without a token is "not allowed" at once and tries nothing', async () => {
    const { url, upgrades } = await bridge(() => {});
    const { states } = client(url, null);
    await new Promise((r) => setTimeout(r, 100));
    expect(states).toEqual([{ kind: 'connecting', attempt: 0 }, { kind: 'not-allowed', message: expect.stringContaining('#token=') }]);
    expect(upgrades).toEqual([]);
  });

  it('finds the socket on the page origin, with no token in its URL', () => {
    expect(wsUrlFor({ protocol: 'http:', host: '127.0.0.1:4711' })).toBe('ws://127.0.0.1:4711/ws');
    expect(wsUrlFor({ protocol: 'https:', host: 'desk:1' })).toBe('wss://desk:1/ws');
  });
});

describe('the token of the page', () => {
  function page(hash: string, search = '') {
    const location: PageLocation = { protocol: 'http:', host: '127.0.0.1:4711', pathname: '/', search, hash };
    const stored = new Map<string, string>();
    const storage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v) };
    const replaced: string[] = [];
    const history = { state: { keep: 1 }, replaceState: (state: unknown, _t: string, url?: string | URL | null) => {
      expect(state).toEqual({ keep: 1 });
      replaced.push(String(url));
    } };
    return { location, storage, stored, history, replaced };
  }

  it('takes it from the fragment, keeps it for a reload in this tab, and removes it from the address bar', () => {
    const p = page('#token=a%2Bb_c-');
    expect(takeToken(p.location, p.storage, p.history)).toBe('a+b_c-');
    expect(p.stored.get(TOKEN_STORAGE_KEY)).toBe('a+b_c-');
    expect(p.replaced).toEqual(['/']);
    // The reload: the address bar has no token any more; the stored one serves.
    const reload = { ...p.location, hash: '' };
    expect(takeToken(reload, p.storage, p.history)).toBe('a+b_c-');
    expect(p.replaced).toEqual(['/']);
  });

  it('keeps the rest of the fragment and the query, and drops only the token', () => {
    const p = page('#view=history&token=t1', '?x=1');
    expect(takeToken(p.location, p.storage, p.history)).toBe('t1');
    expect(p.replaced).toEqual(['/?x=1#view=history']);
  });

  it('never takes a token from the query (a server and its logs see that) and has none without one', () => {
    const p = page('', '?token=from-query');
    expect(takeToken(p.location, p.storage, p.history)).toBeNull();
    expect(p.replaced).toEqual([]);
  });

  it('still works for this load when storage refuses', () => {
    const p = page('#token=t2');
    const refusing = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('QuotaExceeded'); } };
    expect(takeToken(p.location, refusing, p.history)).toBe('t2');
    expect(takeToken({ ...p.location, hash: '' }, refusing, p.history)).toBeNull();
  });
});
