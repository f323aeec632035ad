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
    const { socketPath } = await startTestDaemon({ limits: { maxInFlight: 10 } });
    const client = await connectHelper(socketPath);
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => client.call('switch', { gpu: 'gpu0', target: 'win', requestedBy: 'cli' })));
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThanOrEqual(10);
    expect(refused.length).toBeGreaterThan(0);
    expect(String((refused[0] as PromiseRejectedResult).reason.message)).toContain('too many requests in flight');
    expect((await client.call('hello')).protocol).toBe(2);
    client.close();
  });
});
