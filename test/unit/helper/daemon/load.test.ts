// The transport under load: 1,000 switch requests for one GPU at once, over many connections,
// all answered, with the daemon still serving afterwards. (Coalescing is the engine's; not tested here.)
import { afterEach, describe, expect, it } from 'vitest';
import { connectHelper } from '../../../../app/protocol/helper-client.js';
import { cleanup, startTestDaemon } from './harness.js';

afterEach(cleanup);

describe('helper under load', () => {
  it('answers 1,000 concurrent switch requests for one GPU', async () => {
    const { socketPath, service } = await startTestDaemon();
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectHelper(socketPath)));
    const targets = ['win', 'host', 'park', 'broken'];
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const target = targets[i % targets.length]!;
        return clients[i % clients.length]!.call('switch', { gpu: 'gpu0', target, requestedBy: 'cli' }).then((r) => ({ target, r }));
      }),
    );
    expect(results).toHaveLength(1000);
    expect(service.calls).toHaveLength(1000);
    expect(new Set(results.map(({ r }) => r.switchId)).size).toBe(1000);
    for (const { target, r } of results) expect(r.outcome).toBe(target === 'broken' ? 'rolled-back' : 'succeeded');
    const status = await clients[0]!.call('status');
    expect(status.gpus[0]?.name).toBe('gpu0');
    for (const c of clients) c.close();
  });

  it('answers "busy" beyond the in-flight limit of one connection, and serves the rest', async () => {
    const { socketPath, service } = await startTestDaemon({ limits: { maxInFlight: 10 } });
    // Every switch waits until the test lets it go: the ten in flight stay in flight.
    let release!: () => void;
    service.gate = new Promise<void>((r) => (release = r));
    const client = await connectHelper(socketPath);
    const refused: Error[] = [];
    let settledRefusals!: () => void;
    const allRequestsSeen = new Promise<void>((r) => (settledRefusals = r));
    const seen = () => service.calls.length + refused.length === 30 && settledRefusals();
    service.subscribe((e) => e.kind === 'switch-started' && seen());
    const calls = Array.from({ length: 30 }, () =>
      client.call('switch', { gpu: 'gpu0', target: 'win', requestedBy: 'cli' }).then(
        (result) => result,
        (err: Error) => {
          refused.push(err);
          seen();
          return null;
        },
      ),
    );
    // Each request either reached the service (and is held there) or was answered at once.
    await allRequestsSeen;
    expect(service.calls).toHaveLength(10);
    expect(refused).toHaveLength(20);
    for (const err of refused) expect(err.message).toContain('too many requests in flight on this connection (limit 10)');
    release();
    const answers = (await Promise.all(calls)).filter((r) => r !== null);
    expect(answers).toHaveLength(10);
    for (const r of answers) expect(r.outcome).toBe('succeeded');
    // The slots are free again: the same connection is served.
    service.gate = null;
    expect((await client.call('switch', { gpu: 'gpu0', target: 'host', requestedBy: 'cli' })).outcome).toBe('succeeded');
    expect((await client.call('hello')).protocol).toBe(2);
    client.close();
  });
});
