// Regression (found by the load bench, bench/load-bench.ts, as test/fuzz/found/noop-switch-history):
// a switch to where the GPU already is has an empty plan; the engine used to answer it
// { outcome: "succeeded", switchId } and write no history entry, so a client holding that id found
// nothing. The engine now finishes an empty plan like any switch (one history entry). Checked over
// the real daemon and its socket (the simulated workstation behind it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHelper, type HelperClient } from '../../../app/protocol/helper-client.js';
import { startSimulatedHelper, type HelperUnderTest } from '../../fuzz/lib/helper-under-test.js';

let helper: HelperUnderTest;
let client: HelperClient;
beforeAll(async () => {
  helper = await startSimulatedHelper();
  client = await connectHelper(helper.socketPath);
});
afterAll(async () => {
  client?.close();
  await helper?.stop();
});

describe('a switch to where the GPU already is', () => {
  it('is accounted for in the history like any answered switch', async () => {
    const status = await client.call('status');
    expect(status.gpus.find((g) => g.name === 'gpu-a')?.owner).toBe('host');
    const r = await client.call('switch', { gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    const history = await client.call('history', { limit: 50 });
    expect(history.entries.map((e) => (e as { id?: string }).id), `switch ${r.switchId} was answered`).toContain(r.switchId);
  });
});
