// `baton ui` as a real process bridging to a real `baton helper --simulate` process: who it refuses
// on the HTTP and the WebSocket side, what it sends back, and a desk that follows a switch started
// from the command line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DeskEvent, DeskSnapshot } from '../../../app/protocol/desk.js';
import { startDeskStack, type DeskStack } from '../../support/desk-stack.js';

let stack: DeskStack;
let dist: string;
/** The cookie the old scheme set: it must authorize nothing now. */
let oldCookie: string;
let host: string;

beforeAll(async () => {
  // A stand-in renderer build: the server serves whatever the folder holds.
  dist = mkdtempSync(join(tmpdir(), 'baton-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>desk</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(dist, 'assets', 'app.js'), 'console.log("desk");');
  writeFileSync(join(tmpdir(), 'baton-outside-dist.txt'), 'secret');
  stack = await startDeskStack({ helper: 'process', distDir: dist });
  host = new URL(stack.origin).host;
  oldCookie = `baton_ui_${new URL(stack.origin).port}=${stack.token}`;
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dist, { recursive: true, force: true });
});

/** A raw HTTP request: the path goes out exactly as written (fetch would normalize "..") and Host can lie. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(stack.origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens /ws; resolves with the socket once open, or with the HTTP status that refused it. */
function openWs(options: { headers?: Record<string, string>; protocols?: string[]; path?: string } = {}): Promise<{ ws: WebSocket } | { refused: number; body: string }> {
  const url = `ws://${host}${options.path ?? '/ws'}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ refused: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => reject(err));
  });
}

/** What the page offers: its own Origin, and the token as a subprotocol next to baton.v1. */
const good = () => ({ headers: { Origin: stack.origin }, protocols: ['baton.v1', `baton.token.${stack.token}`] });

/** JSON-RPC over an open desk WebSocket. */
function rpc(ws: WebSocket) {
  let next = 1;
  const pending = new Map<number, (m: { result?: unknown; error?: { code: number; message: string } }) => void>();
  const notifications: { method: string; params: unknown }[] = [];
  /** Answers to no request (id null): parse errors, the bridge's last word. */
  const orphans: { code: number; message: string }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { id?: number | null; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string } };
    if (m.method) notifications.push({ method: m.method, params: m.params });
    else if (typeof m.id === 'number') pending.get(m.id)?.(m);
    else if (m.id === null && m.error) orphans.push(m.error);
  });
  return {
    notifications,
    orphans,
    closed,
    call: (method: string, params?: unknown) =>
      new Promise<{ result?: unknown; error?: { code: number; message: string } }>((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
      }),
    desk: () => notifications.filter((n) => n.method === 'desk').map((n) => n.params as DeskEvent),
  };
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}; baton ui said:\n${stack.uiLog()}`);
}

describe('baton ui over HTTP', () => {
  it('prints the URL first, on the loopback, the token in the fragment (which no browser sends)', () => {
    expect(stack.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}$/);
    expect(stack.token).toHaveLength(32);
  });

  it('serves the renderer (no secret in it) without a token, with a strict CSP, and sets no cookie', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>desk</title>');
    expect(page.body).not.toContain(stack.token);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.headers['content-security-policy']).toBe(
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ws://${host}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const script = await get('/assets/app.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toBe('console.log("desk");');
    expect(script.headers['set-cookie']).toBeUndefined();
  });

  it('no longer trades a token in the query for a cookie: it refuses and says where the token goes', async () => {
    for (const t of [stack.token, 'not-the-token']) {
      const r = await get(`/?token=${t}`);
      expect(r.status).toBe(400);
      expect(r.headers['set-cookie']).toBeUndefined();
      expect(r.headers.location).toBeUndefined();
      expect(r.body).toMatch(/fragment \(#token=/);
      expect(r.body).not.toContain(stack.token);
    }
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin', async () => {
    const port = new URL(stack.origin).port;
    const rebound = await get('/', { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/Host "attacker\.example:\d+" is not this server/);
    expect((await get('/', { host: `127.0.0.1:${Number(port) + 1}` })).status).toBe(403);
    const foreign = await get('/', { Origin: 'http://attacker.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/Origin/);
    // Another local server on another port of the loopback is a foreign origin too.
    expect((await get('/', { Origin: `http://127.0.0.1:${Number(port) + 1}` })).status).toBe(403);
    expect((await get('/', { host: `localhost:${port}` })).status).toBe(200);
  });

  it('keeps paths inside the renderer build and refuses other methods', async () => {
    for (const path of ['/../baton-outside-dist.txt', '/%2e%2e/baton-outside-dist.txt', '/assets/..%2f..%2fbaton-outside-dist.txt', '/%00']) {
      const r = await get(path);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.body, path).not.toContain('secret');
    }
    expect((await get('/', {}, 'POST')).status).toBe(405);
  });
});

describe('baton ui over the WebSocket', () => {
  it('refuses an upgrade without the token, with a wrong one, from a foreign Origin or Host, or without an Origin', async () => {
    const port = new URL(stack.origin).port;
    const token = `baton.token.${stack.token}`;
    expect(await openWs({ headers: { Origin: stack.origin } })).toMatchObject({ refused: 401 });
    expect(await openWs({ headers: { Origin: stack.origin }, protocols: ['baton.v1'] })).toMatchObject({ refused: 401, body: expect.stringContaining('no token') });
    expect(await openWs({ headers: { Origin: stack.origin }, protocols: ['baton.v1', 'baton.token.wrong'] })).toMatchObject({ refused: 403, body: expect.stringContaining('wrong token') });
    expect(await openWs({ headers: { Origin: stack.origin }, protocols: ['baton.v1', `${token}x`] })).toMatchObject({ refused: 403 });
    expect(await openWs({ headers: { Origin: 'http://attacker.example' }, protocols: ['baton.v1', token] })).toMatchObject({ refused: 403, body: expect.stringContaining('Origin "http://attacker.example"') });
    // Another local user's server on another loopback port: the same host, a foreign origin.
    expect(await openWs({ headers: { Origin: `http://127.0.0.1:${Number(port) + 1}` }, protocols: ['baton.v1', token] })).toMatchObject({ refused: 403, body: expect.stringContaining('Origin') });
    expect(await openWs({ protocols: ['baton.v1', token] })).toMatchObject({ refused: 403, body: expect.stringContaining('Origin ""') });
    // A rebinding page: its own name in Host and Origin, the right port, and (somehow) the token.
    const rebound = await openWs({ headers: { Origin: `http://attacker.example:${port}`, Host: `attacker.example:${port}` }, protocols: ['baton.v1', token] });
    expect(rebound).toMatchObject({ refused: 403, body: expect.stringContaining(`Host "attacker.example:${port}"`) });
    expect(await openWs({ headers: { Origin: stack.origin, Host: `attacker.example:${port}` }, protocols: ['baton.v1', token] })).toMatchObject({ refused: 403, body: expect.stringContaining('Host') });
    expect(await openWs({ path: '/elsewhere', ...good() })).toMatchObject({ refused: 404 });
  });

  it('takes the token from nowhere but the subprotocol: not the old cookie, a bearer header or the URL', async () => {
    const origin = { Origin: stack.origin };
    expect(await openWs({ headers: { ...origin, Cookie: oldCookie }, protocols: ['baton.v1'] })).toMatchObject({ refused: 401 });
    expect(await openWs({ headers: { ...origin, Cookie: oldCookie } })).toMatchObject({ refused: 401 });
    expect(await openWs({ headers: { ...origin, Authorization: `Bearer ${stack.token}` }, protocols: ['baton.v1'] })).toMatchObject({ refused: 401 });
    expect(await openWs({ path: `/ws?token=${stack.token}`, headers: origin, protocols: ['baton.v1'] })).toMatchObject({ refused: 401 });
    // Over HTTP the old cookie earns nothing either: the page is the same public one, and no cookie comes back.
    const page = await get('/', { Cookie: oldCookie });
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.body).not.toContain(stack.token);
  });

  it('accepts the token as a subprotocol and answers with its own, never echoing the token', async () => {
    const opened = await openWs({ headers: { Origin: stack.origin }, protocols: ['baton.v1', `baton.token.${stack.token}`] });
    if (!('ws' in opened)) throw new Error(`refused: ${opened.refused} ${opened.body}`);
    expect(opened.ws.protocol).toBe('baton.v1');
    const hello = await rpc(opened.ws).call('hello');
    expect(hello.result).toMatchObject({ protocol: 2 });
    opened.ws.close();
  });

  it('checks requests as the helper does and lets the helper check again behind it', async () => {
    const opened = await openWs(good());
    if (!('ws' in opened)) throw new Error(`refused: ${opened.refused}`);
    const c = rpc(opened.ws);
    expect((await c.call('reconcile')).error).toMatchObject({ code: -32601 });
    expect((await c.call('switch', { gpu: 5, target: 'win11' })).error).toMatchObject({ code: -32602, message: expect.stringMatching(/^switch: params\.gpu/) });
    expect((await c.call('desk.history', { limit: 0 })).error).toMatchObject({ code: -32602 });
    // Valid in shape, unknown to the config: the helper's own allowlist answers.
    expect((await c.call('switch', { gpu: 'gpu-z', target: 'win11', requestedBy: 'browser' })).error).toMatchObject({ code: -32002, message: expect.stringContaining('unknown GPU "gpu-z"') });
    opened.ws.send('not json');
    expect(await until('a parse error', () => c.orphans[0])).toMatchObject({ code: -32700 });
    opened.ws.close();
  }, 60_000);

  it('closes a connection that sends a message over the size limit', async () => {
    const opened = await openWs(good());
    if (!('ws' in opened)) throw new Error(`refused: ${opened.refused}`);
    const c = rpc(opened.ws);
    opened.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello', params: { client: 'x'.repeat(1024 * 1024 + 1) } }));
    expect((await c.closed).code).toBe(1009);
  });

  it('gives a valid client the desk, then every step of a switch started from the command line, and the history entry', async () => {
    const opened = await openWs(good());
    if (!('ws' in opened)) throw new Error(`refused: ${opened.refused}`);
    const c = rpc(opened.ws);
    const subscribed = (await c.call('desk.subscribe')).result as { subscribed: boolean; snapshot: DeskSnapshot };
    expect(subscribed.subscribed).toBe(true);
    const before = subscribed.snapshot;
    expect(before.helper.simulated).toBe(true);
    expect(before.gpus.map((g) => g.name)).toEqual(['gpu-a', 'gpu-b']);
    expect(before.monitors.find((m) => m.connector === 'card1-Virtual-2')).toMatchObject({ gpu: 'gpu-a', presence: 'now' });
    const from = before.gpus.find((g) => g.name === 'gpu-a')!.owner;
    const target = from === 'win11' ? 'linux-dev' : 'win11';

    const cli = await stack.baton(['switch', 'gpu-a', target]);
    expect(cli.code, cli.stderr).toBe(0);
    const moved = await until('a desk snapshot with gpu-a on the target', () =>
      c.desk().map((e) => (e.kind === 'desk-changed' ? e.snapshot : undefined)).find((s) => s && s.gpus.find((g) => g.name === 'gpu-a')?.owner === target && s.historyTotal > before.historyTotal),
    );
    expect(moved.revision).toBeGreaterThan(before.revision);
    expect(moved.monitors.find((m) => m.connector === 'card1-Virtual-2')).toMatchObject({ shows: target, presence: 'remembered' });
    const kinds = c.desk().map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['switch-started', 'step-started', 'step-ended', 'switch-ended', 'history-appended']));
    const entry = await until('the history entry', () => c.desk().find((e) => e.kind === 'history-appended'));
    expect(entry).toMatchObject({ entry: { gpu: 'gpu-a', to: target, requestedBy: 'cli', outcome: 'succeeded' } });

    // A switch from the page is the browser's, whatever it claims.
    const back = await c.call('switch', { gpu: 'gpu-a', target: from, requestedBy: 'cli' });
    expect(back.result).toMatchObject({ outcome: 'succeeded', owner: from });
    const page = (await c.call('desk.history', { limit: 1 })).result as { entries: { requestedBy: string; to: string }[] };
    expect(page.entries[0]).toMatchObject({ requestedBy: 'browser', to: from });
    opened.ws.close();
  }, 60_000);
});
