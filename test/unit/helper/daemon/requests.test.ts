// Requests through a real socket: answers validated by the protocol, names allowlisted, and
// every kind of bad input answered with an error while the daemon keeps serving.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, statusSchema, switchResultSchema } from '../../../../app/protocol/helper-protocol.js';
import { RpcErrorCode } from '../../../../app/protocol/rpc-errors.js';
import { cleanup, exchange, request, startTestDaemon } from './harness.js';

afterEach(cleanup);

function errorOf(message: Record<string, unknown> | undefined): { code: number; message: string } {
  expect(message?.error, JSON.stringify(message)).toBeDefined();
  return message!.error as { code: number; message: string };
}

async function stillServes(socketPath: string): Promise<void> {
  const { messages } = await exchange(socketPath, request(99, 'status'), 1);
  expect(statusSchema.parse(messages[0]?.result).gpus[0]?.name).toBe('gpu0');
}

describe('helper requests', () => {
  it('answers hello with the protocol version and the caller uid', async () => {
    const { socketPath } = await startTestDaemon({ serverVersion: '9.9.9' });
    const { messages } = await exchange(socketPath, request(1, 'hello', { protocol: 1 }), 1);
    expect(messages[0]).toMatchObject({ id: 1, result: { protocol: 2, server: '9.9.9', uid: process.getuid!() } });
  });

  it('passes a switch by PCI address to the service under the GPU config name', async () => {
    const { socketPath, service } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: '01:00.0', target: 'win', requestedBy: 'cli' }), 1);
    expect(switchResultSchema.parse(messages[0]?.result)).toMatchObject({ outcome: 'succeeded', owner: 'win' });
    // The peer comes from SO_PEERCRED (the test runs as this uid), not from anything the client sent.
    const uid = process.getuid?.() ?? -1;
    expect(service.calls).toEqual([{ gpu: 'gpu0', target: 'win', requestedBy: 'cli', peer: { uid, user: expect.toSatisfy((u: unknown) => u === null || typeof u === 'string') } }]);
  });

  it('refuses requestedBy "recovery" (only the helper records it), before the service sees it', async () => {
    const { socketPath, service } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: 'gpu0', target: 'win', requestedBy: 'recovery' }), 1);
    expect(messages[0]).toMatchObject({ id: 1, error: { code: RpcErrorCode.InvalidParams } });
    expect(String((messages[0]?.error as { message: string }).message)).toContain('params.requestedBy');
    expect(service.calls).toEqual([]);
  });

  it('ignores a peer the client sends: the switch params are strict', async () => {
    const { socketPath, service } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: 'gpu0', target: 'win', requestedBy: 'cli', peer: { uid: 0, user: 'root' } }), 1);
    expect(messages[0]).toMatchObject({ id: 1, error: { code: RpcErrorCode.InvalidParams } });
    expect(service.calls).toEqual([]);
  });

  it('refuses a GPU the config does not name, before the service sees it', async () => {
    const { socketPath, service } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: 'gpu7', target: 'win', requestedBy: 'cli' }), 1);
    const error = errorOf(messages[0]);
    expect(error.code).toBe(RpcErrorCode.UnknownName);
    expect(error.message).toBe('unknown GPU "gpu7": the config names gpu0 (by name or PCI address)');
    expect(service.calls).toHaveLength(0);
  });

  it('refuses a target VM the config does not name', async () => {
    const { socketPath, service } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: 'gpu0', target: 'macos', requestedBy: 'cli' }), 1);
    expect(errorOf(messages[0])).toEqual({ code: RpcErrorCode.UnknownName, message: 'unknown target "macos": expected one of host, park, win, broken' });
    expect(service.calls).toHaveLength(0);
  });

  it('refuses history filters naming unknown GPUs', async () => {
    const { socketPath } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'history', { gpu: '../../etc/passwd' }), 1);
    expect(errorOf(messages[0]).code).toBe(RpcErrorCode.UnknownName);
  });

  it('answers wrong params with the field and what was expected', async () => {
    const { socketPath } = await startTestDaemon();
    const { messages } = await exchange(
      socketPath,
      request(1, 'switch', { gpu: 'gpu0', target: 'win', requestedBy: 'root' }) + request(2, 'history', { limit: -1 }) + request(3, 'status', { extra: 1 }),
      3,
    );
    const byId = new Map(messages.map((m) => [m.id, errorOf(m)]));
    expect(byId.get(1)?.code).toBe(RpcErrorCode.InvalidParams);
    expect(byId.get(1)?.message).toMatch(/^switch: params\.requestedBy: /);
    expect(byId.get(2)?.message).toMatch(/^history: params.*limit/);
    expect(byId.get(3)?.code).toBe(RpcErrorCode.InvalidParams);
    await stillServes(socketPath);
  });

  // Found by the helper-request fuzz (seed 862400886, path "1783"): the envelope copied params
  // through z.record, which leaves "__proto__" out, so the method's strict schema never saw it.
  it('refuses a "__proto__" key in params like any other unknown key, before the service sees it', async () => {
    const { socketPath, service } = await startTestDaemon();
    const { messages } = await exchange(
      socketPath,
      '{"jsonrpc":"2.0","id":1,"method":"history","params":{"gpu":"gpu0","x":1}}\n' +
        '{"jsonrpc":"2.0","id":2,"method":"history","params":{"gpu":"gpu0","__proto__":-2}}\n' +
        '{"jsonrpc":"2.0","id":3,"method":"switch","params":{"gpu":"gpu0","target":"win","requestedBy":"cli","__proto__":{"admin":true}}}\n',
      3,
    );
    const byId = new Map(messages.map((m) => [m.id, errorOf(m)]));
    expect(byId.get(1)).toMatchObject({ code: RpcErrorCode.InvalidParams, message: expect.stringContaining('"x"') });
    expect(byId.get(2)).toMatchObject({ code: RpcErrorCode.InvalidParams, message: expect.stringContaining('"__proto__"') });
    expect(byId.get(3)).toMatchObject({ code: RpcErrorCode.InvalidParams, message: expect.stringContaining('"__proto__"') });
    expect(service.historyCalls).toBe(0);
    expect(service.calls).toHaveLength(0);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    await stillServes(socketPath);
  });

  it('answers malformed JSON, a non-request and a batch, and keeps the connection', async () => {
    const { socketPath } = await startTestDaemon();
    const { messages, closed } = await exchange(socketPath, '{"jsonrpc":"2.0",\n' + '{"id":5,"method":7}\n' + '[1,2]\n' + request(6, 'status'), 4);
    expect(closed).toBe(false);
    expect(errorOf(messages[0])).toMatchObject({ code: RpcErrorCode.ParseError, message: expect.stringMatching(/^not JSON: /) });
    expect(messages[1]?.id).toBe(5);
    expect(errorOf(messages[1])).toMatchObject({ code: RpcErrorCode.InvalidRequest, message: expect.stringContaining('request.jsonrpc') });
    expect(errorOf(messages[2]).message).toContain('batches are not supported');
    expect(messages[3]).toMatchObject({ id: 6, result: { gpus: [{ name: 'gpu0' }] } });
  });

  it('answers an unknown method by naming the methods there are', async () => {
    const { socketPath } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'rm -rf') + request(2, 'constructor'), 2);
    for (const message of messages) {
      expect(errorOf(message).code).toBe(RpcErrorCode.MethodNotFound);
      expect(errorOf(message).message).toMatch(/the helper offers hello, status, switch, history, reconcile, subscribe, unsubscribe, desk.snapshot, desk.subscribe, desk.unsubscribe, desk.history$/);
    }
  });

  it('logs a refused name and refused params with the caller, and not a request it served', async () => {
    const { socketPath, logs } = await startTestDaemon();
    const payload = request(1, 'switch', { gpu: '../gpu0', target: 'win', requestedBy: 'cli' }) + request(2, 'history', { limit: -1 }) + request(3, 'status');
    const { messages } = await exchange(socketPath, payload, 3);
    expect(messages.map((m) => (m.error as { code?: number } | undefined)?.code ?? 'ok')).toEqual([RpcErrorCode.UnknownName, RpcErrorCode.InvalidParams, 'ok']);
    const refused = logs.filter((l) => l.startsWith('refused '));
    expect(refused).toEqual([
      expect.stringMatching(/^refused switch from uid \d+( \(.+\))?: unknown GPU "\.\.\/gpu0": the config names gpu0/),
      expect.stringMatching(/^refused history from uid \d+( \(.+\))?: history: params\.limit/),
    ]);
  });

  it('closes a connection that sends a line over the limit, and serves the next one', async () => {
    const { socketPath, logs } = await startTestDaemon();
    const huge = Buffer.alloc(MAX_LINE_BYTES + 10, 'a');
    const { messages, closed } = await exchange(socketPath, huge, 2);
    expect(closed).toBe(true);
    expect(messages).toHaveLength(1);
    expect(errorOf(messages[0])).toMatchObject({ code: RpcErrorCode.MessageTooLarge, message: expect.stringContaining(`${MAX_LINE_BYTES} bytes`) });
    expect(logs.join('\n')).toMatch(/a line over 1048576 bytes/);
    await stillServes(socketPath);
  });

  it('accepts a line just under the limit (the limit is per line, not per connection)', async () => {
    const { socketPath } = await startTestDaemon();
    const padding = 'x'.repeat(MAX_LINE_BYTES - 200);
    const line = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello', params: { client: padding } }) + '\n';
    const { messages } = await exchange(socketPath, line + request(2, 'status'), 2);
    const byId = new Map(messages.map((m) => [m.id, m]));
    // The client name is too long for hello's schema: an error answer, not a closed connection.
    expect(errorOf(byId.get(1)).code).toBe(RpcErrorCode.InvalidParams);
    expect(byId.get(2)?.result).toBeDefined();
  });

  it('reports a service failure as a service error with its message', async () => {
    const { socketPath, service } = await startTestDaemon();
    service.reconcile = async () => {
      throw new Error('registry is locked');
    };
    const { messages } = await exchange(socketPath, request(1, 'reconcile'), 1);
    expect(errorOf(messages[0])).toEqual({ code: RpcErrorCode.ServiceError, message: 'reconcile: registry is locked' });
  });

  it('refuses to pass on a service result the protocol does not allow, and logs it', async () => {
    const { socketPath, service, logs } = await startTestDaemon();
    service.status = async () => ({ gpus: [{ name: 'gpu0' }], vms: [], disagreements: [] }) as never;
    const { messages } = await exchange(socketPath, request(1, 'status'), 1);
    expect(errorOf(messages[0]).code).toBe(RpcErrorCode.InternalError);
    expect(logs.join('\n')).toContain('invalid status result (result.gpus.0.address');
  });

  it('does not answer or act on requests without an id', async () => {
    const { socketPath, service } = await startTestDaemon();
    const note = JSON.stringify({ jsonrpc: '2.0', method: 'switch', params: { gpu: 'gpu0', target: 'win', requestedBy: 'cli' } }) + '\n';
    const { messages } = await exchange(socketPath, note + request(2, 'status'), 1);
    expect(messages.map((m) => m.id)).toEqual([2]);
    expect(service.calls).toHaveLength(0);
  });

  it('survives clients that vanish mid-request', async () => {
    const { socketPath, daemon } = await startTestDaemon();
    await Promise.all(Array.from({ length: 20 }, () => exchange(socketPath, request(1, 'switch', { gpu: 'gpu0', target: 'win', requestedBy: 'cli' }), 0)));
    await stillServes(socketPath);
    // Every vanished client is let go once the helper has seen it close (the test's timeout bounds the wait).
    while (daemon.connections() > 0) await new Promise((r) => setTimeout(r, 10));
    expect(daemon.connections()).toBe(0);
  });
});
