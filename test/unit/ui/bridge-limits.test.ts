// The bridge's bounds, pushed past: tabs at once, requests in flight per tab.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { StatusSnapshot } from '../../../app/domain/switch/service.js';
import { RpcErrorCode } from '../../../app/protocol/rpc-errors.js';
import { startUi, type UiServer } from '../../../app/ui/server.js';
import { cleanup, startTestDaemon } from '../helper/daemon/harness.js';

const servers: UiServer[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await cleanup();
});

function open(ui: UiServer): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${ui.origin.replace('http', 'ws')}/ws`, ['baton.v1', `baton.token.${ui.token}`], { headers: { Origin: ui.origin } });
    sockets.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('the bridge\'s bounds', () => {
  it('refuses a tab beyond the limit with 503, and takes one again when a tab closes', async () => {
    const { socketPath } = await startTestDaemon();
    const ui = await startUi({ socketPath, distDir: join(tmpdir(), 'no-build'), maxClients: 3 });
    servers.push(ui);
    const tabs = await Promise.all([open(ui), open(ui), open(ui)]);
    expect(tabs.every((t) => t instanceof WebSocket)).toBe(true);
    expect(await open(ui)).toBe(503);
    const first = tabs[0] as WebSocket;
    await new Promise<void>((resolve) => {
      first.once('close', () => resolve());
      first.close();
    });
    for (let i = 0; i < 100 && ui.clients() >= 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await open(ui)).toBeInstanceOf(WebSocket);
  });

  it('answers busy past the requests in flight of one tab, and the others once the helper answers', async () => {
    const { socketPath, service } = await startTestDaemon();
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const real = service.status.bind(service);
    service.status = async (): Promise<StatusSnapshot> => (await held, real());
    const ui = await startUi({ socketPath, distDir: join(tmpdir(), 'no-build'), bridgeLimits: { maxInFlight: 2, maxBufferedBytes: 1 << 20 } });
    servers.push(ui);
    const ws = (await open(ui)) as WebSocket;
    const answers = new Map<number, { result?: unknown; error?: { code: number } }>();
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id: number; result?: unknown; error?: { code: number } };
      answers.set(m.id, m);
    });
    // One answered first, so the helper connection is open and nothing waits in the early queue.
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'hello' }));
    for (let i = 0; i < 200 && !answers.has(0); i++) await new Promise((r) => setTimeout(r, 10));
    for (const id of [1, 2, 3]) ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'status' }));
    for (let i = 0; i < 200 && !answers.has(3); i++) await new Promise((r) => setTimeout(r, 10));
    expect(answers.get(3)?.error?.code).toBe(RpcErrorCode.Busy);
    expect(answers.has(1) || answers.has(2)).toBe(false);
    release();
    for (let i = 0; i < 200 && !(answers.has(1) && answers.has(2)); i++) await new Promise((r) => setTimeout(r, 10));
    expect(answers.get(1)?.result).toMatchObject({ gpus: [{ name: 'gpu0' }] });
    expect(answers.get(2)?.result).toMatchObject({ gpus: [{ name: 'gpu0' }] });
  });
});
