// Event subscriptions: the service's events reach subscribed connections as `event` notifications,
// not others, and a connection that goes away is forgotten.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceEvent } from '../../../../app/domain/switch/service.js';
import { connectHelper } from '../../../../app/protocol/helper-client.js';
import { cleanup, startTestDaemon } from './harness.js';

afterEach(cleanup);

// Waits for a state, however long the machine takes (the test's own timeout is the bound).
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
};

describe('helper events', () => {
  it('forwards the events of a switch to subscribers only, in order', async () => {
    const { socketPath } = await startTestDaemon();
    const subscriber = await connectHelper(socketPath);
    const bystander = await connectHelper(socketPath);
    const seen: ServiceEvent[] = [];
    const unseen: ServiceEvent[] = [];
    subscriber.onEvent((e) => seen.push(e));
    bystander.onEvent((e) => unseen.push(e));
    expect(await subscriber.call('subscribe')).toEqual({ subscribed: true });

    const result = await bystander.call('switch', { gpu: 'gpu0', target: 'win', requestedBy: 'tray' });
    await until(() => seen.some((e) => e.kind === 'switch-ended'));
    expect(seen.map((e) => e.kind)).toEqual(['switch-started', 'step-started', 'step-ended', 'switch-ended']);
    expect(seen.every((e) => !('switchId' in e) || e.switchId === result.switchId)).toBe(true);
    expect(unseen).toEqual([]);
    subscriber.close();
    bystander.close();
  });

  it('stops after unsubscribe', async () => {
    const { socketPath, service } = await startTestDaemon();
    const client = await connectHelper(socketPath);
    const seen: ServiceEvent[] = [];
    client.onEvent((e) => seen.push(e));
    await client.call('subscribe');
    service.emit({ kind: 'history-appended', entryId: 'a' });
    expect(await client.call('unsubscribe')).toEqual({ subscribed: false });
    service.emit({ kind: 'history-appended', entryId: 'b' });
    await client.call('hello'); // a round trip after the second event: it would have arrived by now
    expect(seen).toEqual([{ kind: 'history-appended', entryId: 'a' }]);
    client.close();
  });

  it('drops events the protocol does not allow instead of passing them on', async () => {
    const { socketPath, service, logs } = await startTestDaemon();
    const client = await connectHelper(socketPath);
    const seen: ServiceEvent[] = [];
    client.onEvent((e) => seen.push(e));
    await client.call('subscribe');
    service.emit({ kind: 'rm-rf' } as unknown as ServiceEvent);
    service.emit({ kind: 'history-appended', entryId: 'ok' });
    await until(() => seen.length > 0);
    expect(seen).toEqual([{ kind: 'history-appended', entryId: 'ok' }]);
    expect(logs.join('\n')).toContain('dropped an event');
    client.close();
  });

  it('forgets a subscriber when its connection closes', async () => {
    const { socketPath, service, daemon } = await startTestDaemon();
    const client = await connectHelper(socketPath);
    await client.call('subscribe');
    client.close();
    await until(() => daemon.connections() === 0);
    expect(daemon.connections()).toBe(0);
    // The hub must not write to the closed socket; emitting afterwards is harmless.
    expect(() => service.emit({ kind: 'history-appended', entryId: 'late' })).not.toThrow();
  });

  it('stops listening to the service when the daemon closes', async () => {
    const { service, daemon } = await startTestDaemon();
    const listeners = (service as unknown as { listeners: Set<unknown> }).listeners;
    expect(listeners.size).toBe(1);
    await daemon.close();
    expect(listeners.size).toBe(0);
  });
});
