// A well-formed switch the helper refuses before planning is still in the history: the request, the
// refusal's reason, who asked (the peer the daemon saw on its socket). Through the real daemon over
// its socket, with the real service on the simulated workstation. Names the config does not know
// (a GPU, a target VM) are the request's own error: answered, not recorded.
import { afterEach, describe, expect, it } from 'vitest';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { RpcErrorCode } from '../../../app/protocol/rpc-errors.js';
import { cleanup, exchange, request, startTestDaemon } from '../helper/daemon/harness.js';
import { makeHarness, type Harness } from './harness.js';

afterEach(cleanup);

/** The simulated workstation's config plus a GPU that is not on its bus. */
function withGhost(config: BatonConfig): BatonConfig {
  const first = config.gpus[0]!;
  return { ...config, gpus: [...config.gpus, { ...first, name: 'ghost', match: { by: 'address', address: '0000:09:00.0' as PciAddress }, monitors: [] }] };
}

async function switchOver(h: Harness, gpu: string, target: string): Promise<Record<string, unknown>> {
  const { socketPath } = await startTestDaemon({ service: h.service as never, config: h.sim.config });
  const { messages } = await exchange(socketPath, request(1, 'switch', { gpu, target, requestedBy: 'cli' }), 1);
  return messages[0]!;
}

const uid = process.getuid?.() ?? 0;

describe('switches refused before planning are recorded', () => {
  it('a GPU recorded lost: refused with why, and recorded once', async () => {
    const h = makeHarness();
    h.owners.setOwner('gpu-a', 'lost', ['0000:01:00.0', '0000:01:00.1'] as PciAddress[], 'the reset never came back');
    const answer = await switchOver(h, 'gpu-a', 'win11');
    expect(answer).toMatchObject({ id: 1, error: { message: expect.stringContaining('GPU gpu-a is lost: the reset never came back') } });
    const { entries } = h.history.query({});
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ gpu: 'gpu-a', from: 'lost', to: 'win11', outcome: 'failed', finalOwner: 'lost', peer: { uid }, error: expect.stringMatching(/^refused: GPU gpu-a is lost/) });
    expect(h.logs.some((l) => l.includes('gpu-a lost→win11 failed') && l.includes(`uid ${uid}`))).toBe(true);
    // Nothing moved: the registry still says lost.
    expect(h.owners.ownerOf('gpu-a')).toBe('lost');
  });

  it('a configured GPU absent from the bus: refused in its queue, recorded under its configured address', async () => {
    const base = makeHarness();
    const h = makeHarness({}, 400, { sim: base.sim, dir: base.dir, generation: 1 }, withGhost(base.sim.config));
    const { socketPath } = await startTestDaemon({ service: h.service as never, config: withGhost(h.sim.config) });
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: 'ghost', target: 'win11', requestedBy: 'cli' }), 1);
    expect(messages[0]).toMatchObject({ id: 1, error: { message: expect.stringContaining('GPU ghost is not on the PCI bus') } });
    const { entries } = h.history.query({});
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ gpu: 'ghost', gpuAddress: '0000:09:00.0', to: 'win11', outcome: 'failed', requestedBy: 'cli', peer: { uid }, error: expect.stringMatching(/^refused: GPU ghost is not on the PCI bus/) });
  });

  it('names the config does not know, and a client claiming to be the helper, are answered and not recorded', async () => {
    const h = makeHarness();
    const { socketPath } = await startTestDaemon({ service: h.service as never, config: h.sim.config });
    const { messages } = await exchange(socketPath, request(1, 'switch', { gpu: 'gpu-z', target: 'win11', requestedBy: 'cli' }), 1);
    expect(messages[0]).toMatchObject({ id: 1, error: { message: expect.stringContaining('unknown GPU "gpu-z"') } });
    const typo = await exchange(socketPath, request(4, 'switch', { gpu: 'gpu-a', target: 'wni11', requestedBy: 'cli' }), 1);
    expect(typo.messages[0]).toMatchObject({ id: 4, error: { message: expect.stringContaining('unknown target "wni11"') } });
    const claimed = await exchange(socketPath, request(2, 'switch', { gpu: 'gpu-a', target: 'win11', requestedBy: 'recovery' }), 1);
    expect(claimed.messages[0]).toMatchObject({ id: 2, error: { code: RpcErrorCode.InvalidParams } });
    expect(h.history.query({}).entries).toEqual([]);
    // The control: a switch that runs is recorded.
    const ran = await exchange(socketPath, request(3, 'switch', { gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' }), 1);
    expect(ran.messages[0]).toMatchObject({ id: 3, result: { outcome: 'succeeded' } });
    expect(h.history.query({}).entries).toHaveLength(1);
  });
});
