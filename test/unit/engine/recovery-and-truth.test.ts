// Issue 8's findings 3, 4 (the engine's part), 6 and 7, and issue 9's audit trail (item 8) and
// absent GPUs (item 9, the service's part): each tried the way it broke before.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_COALESCED_LISTED } from '../../../app/domain/history/entry.js';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import { GPU_A, GPU_B } from '../../../app/helper/simulate/index.js';
import { statusSchema } from '../../../app/protocol/helper-protocol.js';
import { makeHarness, realOwner, settle } from './harness.js';

const fresh = async (options: Parameters<typeof makeHarness>[0] = {}) => {
  const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } }, ...options });
  expect(await h.service.reconcile()).toEqual([]);
  return h;
};

function withGpu(config: BatonConfig, name: string, change: Partial<BatonConfig['gpus'][number]>): BatonConfig {
  return { ...config, gpus: config.gpus.map((g) => (g.name === name ? { ...g, ...change } : g)) };
}

/** A journal as an interrupted switch of `gpu` leaves it (the claim was under way). */
function journalOf(gpu: string, address: string, switchId: string) {
  return {
    switchId, gpu, gpuAddress: address, functions: [address, address.replace(/\.0$/, '.1')], from: 'host', to: 'win11', requestedBy: 'cli',
    startedAt: new Date().toISOString(), plan: [{ name: 'claim' }], phase: 'forward', steps: [], current: 'claim', rolledBack: [],
  };
}

describe('3: recovery never blocks start-up', () => {
  it('killed after the history line and before the journal went: the next start comes up, one entry', async () => {
    const h = await fresh();
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    // What the journal held just before finish removed it.
    mkdirSync(h.journals.dir, { recursive: true });
    writeFileSync(join(h.journals.dir, 'gpu-a.json'), JSON.stringify({ ...journalOf('gpu-a', GPU_A, r.switchId), current: 'verify' }));
    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems).toEqual([]);
    expect(after.history.query({}).entries.filter((e) => e.id === r.switchId)).toHaveLength(1);
    expect(readdirSync(after.journals.dir)).toEqual([]);
    expect(after.owners.ownerOf('gpu-a')).toBe('win11');
  });

  it('a journal for a GPU renamed in the config is set aside and reported; the helper comes up', async () => {
    const h = await fresh();
    mkdirSync(h.journals.dir, { recursive: true });
    writeFileSync(join(h.journals.dir, 'old-name.json'), JSON.stringify(journalOf('old-name', GPU_A, 'sw-renamed')));
    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems.join('\n')).toMatch(/old-name\.json names no configured GPU; moved it to .*aside/);
    expect(readdirSync(join(after.journals.dir, 'aside'))).toHaveLength(1);
    const status = statusSchema.parse(await after.service.status());
    expect(status.recoveryProblems?.join('\n')).toMatch(/names no configured GPU/);
  });

  it('a journal for a GPU gone from the bus is set aside and reported; the helper comes up and says so', async () => {
    const h = await fresh();
    mkdirSync(h.journals.dir, { recursive: true });
    writeFileSync(join(h.journals.dir, 'gpu-b.json'), JSON.stringify(journalOf('gpu-b', GPU_B, 'sw-gone')));
    const unplugged = withGpu(h.sim.config, 'gpu-b', { match: { by: 'address', address: '0000:05:00.0' as never } });
    const after = h.restart(unplugged);
    const recovery = await after.service.recover();
    expect(recovery.problems.join('\n')).toMatch(/switch sw-gone of gpu-b was interrupted, but GPU gpu-b is not on the PCI bus .*moved the journal to .*aside/);
    const status = statusSchema.parse(await after.service.status());
    expect(status.gpus.find((g) => g.name === 'gpu-b')).toMatchObject({ owner: 'absent', match: 'address 0000:05:00.0' });
    expect(status.recoveryProblems).toHaveLength(1);
  });

  it('a damaged journal is set aside, not replayed, not in the way', async () => {
    const h = await fresh();
    mkdirSync(h.journals.dir, { recursive: true });
    writeFileSync(join(h.journals.dir, 'gpu-a.json'), '{"switchId": ');
    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems.join('\n')).toMatch(/damaged.*moved the journal to/);
    expect(readdirSync(after.journals.dir)).toEqual(['aside']);
  });
});

describe('4 (engine): a VM that cannot be asked is unknown, never "holds nothing"', () => {
  it('a switch away from a VM whose state() does not answer is refused with the reason; nothing moves', async () => {
    const h = await fresh();
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.sim.injectFault({ operation: 'state', vm: 'win11', kind: 'hang', times: Infinity });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
    expect(r.outcome).toBe('failed');
    expect(r.error).toMatch(/refused: cannot tell whether win11: state of win11: no answer .* holds gpu-a/);
    expect(realOwner(h.sim, GPU_A)).toBe('win11');
    expect(h.history.get(r.switchId)?.steps).toEqual([]);
    h.sim.clearFaults();
    h.sim.releaseHangs('proceed');
  });

  it('a stale registry is not trusted: the planner looks first, and never claims a GPU a VM holds', async () => {
    const h = await fresh();
    // The registry says host, but win11 has the GPU (a registry from before a crash, a hand-made change).
    h.sim.workstation.place(GPU_A, 'win11', (a) => `planted-${a}`);
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    expect(h.history.get(r.switchId)?.steps.map((s) => s.name)).toEqual(['release', 'reset', 'vbios', 'attach', 'verify']);
    expect(realOwner(h.sim, GPU_A)).toBe('linux-dev');
    expect(h.logs.join('\n')).toMatch(/gpu-a: the registry said host, the machine shows win11/);
  });

  it('observe says unknown when a VM that might hold the GPU does not answer', async () => {
    const h = await fresh();
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'park', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.sim.injectFault({ operation: 'passthroughDevices', vm: 'linux-dev', kind: 'error', times: Infinity });
    const seen = await h.service.engine.look(await h.service.resolveGpu('gpu-a'));
    expect(seen.owner).toBe('unknown');
    expect(seen.unknown.join()).toMatch(/^linux-dev: /);
    // On host drivers no VM can hold it: gpu-b is the host's whether linux-dev answers or not.
    expect((await h.service.engine.look(await h.service.resolveGpu('gpu-b'))).owner).toBe('host');
  });
});

describe('6: reconcile goes through each GPU queue', () => {
  it('a reconcile that started before a switch does not overwrite what the switch recorded', async () => {
    const h = await fresh();
    // The reconcile's look at linux-dev hangs for a while; a switch of gpu-a arrives meanwhile.
    h.sim.injectFault({ operation: 'state', vm: 'linux-dev', kind: 'hang', times: 2 });
    const reconciling = h.service.reconcile();
    await settle(20);
    const switching = h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    await settle(20);
    h.sim.releaseHangs('proceed');
    await reconciling;
    expect((await switching).outcome).toBe('succeeded');
    expect(h.owners.ownerOf('gpu-a')).toBe('win11');
    expect(realOwner(h.sim, GPU_A)).toBe('win11');
    expect(await h.service.reconcile()).toEqual([]);
  });
});

describe('7 and issue 9 item 9: an absent GPU', () => {
  it('status reports a configured GPU that is not on the bus as absent with its match, and validates; reconcile lists it', async () => {
    const h = await fresh();
    const config = withGpu(h.sim.config, 'gpu-b', { match: { by: 'ids', vendor: '10de', device: '2204' } as never });
    const after = h.restart(config);
    const status = statusSchema.parse(await after.service.status());
    const b = status.gpus.find((g) => g.name === 'gpu-b')!;
    expect(b).toMatchObject({ owner: 'absent', address: null, functions: [], match: 'ids 10de:2204' });
    expect(b.reason).toMatch(/not on the PCI bus/);
    expect(status.gpus.find((g) => g.name === 'gpu-a')).toMatchObject({ owner: 'host', address: GPU_A });
    expect((await after.service.reconcile()).join('\n')).toMatch(/GPU gpu-b is configured but absent/);
    await expect(after.service.switchGpu({ gpu: 'gpu-b', target: 'park', requestedBy: 'cli' })).rejects.toThrow(/not on the PCI bus/);
  });
});

describe('issue 9 item 9: a GPU whose serial cannot be checked', () => {
  it('status says why it is absent: the match.serial could not be read on the card that may be it', async () => {
    const h = await fresh();
    // The simulated cards have no Device Serial Number read: an entry naming one cannot be checked.
    const config = withGpu(h.sim.config, 'gpu-b', { match: { by: 'ids', vendor: '1234', device: '1111', serial: '00-11-22-33-44-55-66-77' } as never });
    const after = h.restart(config);
    const b = statusSchema.parse(await after.service.status()).gpus.find((g) => g.name === 'gpu-b')!;
    expect(b.owner).toBe('absent');
    expect(b.reason).toContain(`match.serial 00-11-22-33-44-55-66-77 cannot be checked on ${GPU_B}: its Device Serial Number was not read`);
  });
});

describe('issue 9 item 8: the history is an audit trail', () => {
  it('records the peer with every switch, in the journal and the history, and logs one line per switch', async () => {
    const h = await fresh();
    const peer = { uid: 1000, user: 'alice' };
    h.faultAtStep('attach', { operation: 'attach', vm: 'win11', kind: 'hang' });
    const running = h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'tray', peer });
    for (let i = 0; i < 100 && h.sim.hangingCalls().length === 0; i++) await settle(5);
    expect(JSON.parse(readFileSync(join(h.journals.dir, 'gpu-a.json'), 'utf8')).peer).toEqual(peer);
    h.sim.releaseHangs('proceed');
    const r = await running;
    await h.service.idle();
    expect(h.history.get(r.switchId)).toMatchObject({ peer, requestedBy: 'tray' });
    const lines = h.logs.filter((l) => l.startsWith(`switch ${r.switchId} `));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^switch ${r.switchId} gpu-a host→win11 \\S+ owner=\\S+ \\d+ ms requestedBy=tray uid 1000 \\(alice\\)$`));
  });

  it('refuses requestedBy recovery or chord from a client; the helper may say chord itself', async () => {
    const h = await fresh();
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'park', requestedBy: 'recovery' })).rejects.toThrow(/set only by the helper itself/);
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'park', requestedBy: 'chord' })).rejects.toThrow(/set only by the helper itself/);
    const r = await h.service.switchAsHelper('gpu-a', 'park', 'chord');
    expect(h.history.get(r.switchId)?.requestedBy).toBe('chord');
  });

  it('a storm of coalesced requests is folded into the entries that won; earlier entries stay', async () => {
    const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } }, 400);
    await h.service.reconcile();
    const first = await h.service.switchGpu({ gpu: 'gpu-b', target: 'park', requestedBy: 'cli' });
    const targets = ['win11', 'linux-dev', 'host', 'park'];
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
      h.service.switchGpu({ gpu: 'gpu-a', target: targets[i % 4]!, requestedBy: 'cli', peer: { uid: 1000 + (i % 3), user: null } })));
    const entries = h.history.query({ limit: 5000 }).entries;
    expect(entries.length).toBeLessThan(20);
    expect(entries.some((e) => e.id === first.switchId)).toBe(true);
    const folded = entries.flatMap((e) => e.coalesced ?? []);
    const superseded = results.filter((r) => r.outcome === 'superseded');
    expect(superseded.length).toBeGreaterThan(900);
    // The newest are listed (each once), the rest counted: no entry grows with the storm.
    for (const e of entries) expect((e.coalesced ?? []).length).toBeLessThanOrEqual(MAX_COALESCED_LISTED);
    for (const s of superseded) expect(folded.filter((c) => c.switchId === s.switchId).length).toBeLessThanOrEqual(1);
    const counted = entries.reduce((n, e) => n + (e.coalesced ?? []).length + (e.coalescedOmitted ?? 0), 0);
    expect(counted).toBeGreaterThanOrEqual(superseded.length);
    expect(folded.every((c) => c.peer && c.peer.uid >= 1000)).toBe(true);
  });
});
