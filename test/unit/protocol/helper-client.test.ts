// The client against fake helpers that misbehave: no socket, a refusal, answers of the wrong shape.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectHelper, HelperConnectError } from '../../../app/protocol/helper-client.js';
import { HelperRpcError, RpcErrorCode } from '../../../app/protocol/rpc-errors.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-client-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'helper.sock');
}

/** A fake helper: `onLine` gets each request and the socket to answer on. */
async function fakeHelper(onLine: (request: { id: number; method: string }, sock: Socket) => void, onConnect?: (sock: Socket) => void): Promise<string> {
  const path = tempPath();
  const server: Server = createServer((sock) => {
    onConnect?.(sock);
    let buf = '';
    sock.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(JSON.parse(buf.slice(0, nl)), sock);
        buf = buf.slice(nl + 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(() => server.close());
  return path;
}

describe('helper client', () => {
  it('says there is no helper when the socket does not exist', async () => {
    const path = tempPath();
    const err = await connectHelper(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelperConnectError);
    expect((err as HelperConnectError).code).toBe('ENOENT');
    expect((err as Error).message).toBe(`cannot reach the helper at ${path}: no such socket; is the helper running? (systemctl status baton-helper.socket)`);
  });

  it('turns an error answer into HelperRpcError with the code and message', async () => {
    const path = await fakeHelper((req, sock) => sock.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: -32002, message: 'unknown GPU "x"' } }) + '\n'));
    const client = await connectHelper(path);
    const err = await client.call('status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelperRpcError);
    expect(err).toMatchObject({ code: RpcErrorCode.UnknownName, message: 'unknown GPU "x"' });
    client.close();
  });

  it('rejects pending calls with the helper’s last word when it closes the connection on an error', async () => {
    const refusal = 'uid 1000 (alice) may not use the Baton helper';
    const path = await fakeHelper(
      () => {},
      (sock) => setTimeout(() => sock.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.NotAuthorized, message: refusal } }) + '\n'), 20),
    );
    const client = await connectHelper(path);
    const closed = new Promise((r) => client.onClose(r));
    const err = await client.call('hello').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: RpcErrorCode.NotAuthorized, message: refusal });
    expect(await closed).toMatchObject({ message: refusal });
  });

  it('refuses an answer of the wrong shape instead of passing it on', async () => {
    const path = await fakeHelper((req, sock) => sock.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { gpus: 'many' } }) + '\n'));
    const client = await connectHelper(path);
    await expect(client.call('status')).rejects.toThrow(/the helper's answer to status has an unexpected shape: gpus: /);
    client.close();
  });

  it('ignores events of unknown kinds and delivers valid ones', async () => {
    const path = await fakeHelper((req, sock) => {
      sock.write(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { kind: 'nonsense' } }) + '\n');
      sock.write(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { kind: 'history-appended', entryId: 'e1' } }) + '\n');
      sock.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { subscribed: true } }) + '\n');
    });
    const client = await connectHelper(path);
    const events: unknown[] = [];
    client.onEvent((e) => events.push(e));
    await client.call('subscribe');
    expect(events).toEqual([{ kind: 'history-appended', entryId: 'e1' }]);
    client.close();
  });
});
