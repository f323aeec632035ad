// One switch per GPU at a time; requests that arrive meanwhile are coalesced, the latest target wins.
import { describe, expect, it } from 'vitest';
import { MAX_COALESCED_LISTED } from '../../../app/domain/history/entry.js';
import type { ServiceEvent } from '../../../app/domain/switch/service.js';
import { GPU_A } from '../../../app/helper/simulate/index.js';
import { GpuQueue, type SwitchJob } from '../../../app/helper/engine/gpu-queue.js';
import { makeHarness, realOwner } from './harness.js';

describe('switch requests for one GPU', () => {
  it('1,000 concurrent requests: all answered, the latest target wins, no double assignment, history consistent', async () => {
    const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
    await h.service.reconcile();
    const events: ServiceEvent[] = [];
    h.service.subscribe((e) => events.push(e));
    const targets = ['win11', 'linux-dev', 'host', 'park'];
    const requests = Array.from({ length: 1000 }, (_, i) => ({ target: targets[i % targets.length]!, i }));
    const results = await Promise.all(requests.map((r) => h.service.switchGpu({ gpu: 'gpu-a', target: r.target, requestedBy: 'cli' })));

    expect(results).toHaveLength(1000);
    const ran = results.filter((r) => r.outcome !== 'superseded');
    const superseded = results.filter((r) => r.outcome === 'superseded');
    expect(ran.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(superseded.length).toBeGreaterThan(900);
    expect(superseded.every((r) => targets.includes(r.supersededBy!))).toBe(true);
    // The last request's target is where the GPU ends, in the registry and in the machine.
    const last = requests.at(-1)!.target;
    expect(h.owners.ownerOf('gpu-a')).toBe(last);
    expect(realOwner(h.sim, GPU_A)).toBe(last);
    expect(h.sim.assertConsistent()).toEqual([]);
    expect(h.sim.snapshot().vms.filter((v) => v.held.includes(GPU_A)).length).toBeLessThanOrEqual(1);

    // Every answer belongs to one history entry: its own, or the entry of the switch that won,
    // which lists the newest folded requests and counts the rest. The storm leaves one row per
    // switch that ran, not 1,000, and no entry grows past its bound.
    const entries = h.history.query({ gpu: 'gpu-a', limit: 5000 }).entries;
    expect(new Set(entries.map((e) => e.id))).toEqual(new Set(ran.map((r) => r.switchId)));
    expect(entries.filter((e) => e.outcome === 'superseded')).toEqual([]);
    for (const e of entries) expect((e.coalesced ?? []).length).toBeLessThanOrEqual(MAX_COALESCED_LISTED);
    const folded = entries.flatMap((e) => (e.coalesced ?? []).filter((c) => c.switchId !== e.id).map((c) => c.switchId));
    const supersededIds = new Set(superseded.map((r) => r.switchId));
    expect(new Set(folded).size).toBe(folded.length);
    expect(folded.every((id) => supersededIds.has(id))).toBe(true);
    const counted = entries.reduce((n, e) => n + (e.coalesced ?? []).length + (e.coalescedOmitted ?? 0), 0);
    expect(counted).toBeGreaterThanOrEqual(superseded.length);
    expect(entries.length).toBeLessThan(20);
    // Switches never overlap: each switch-started is followed by its switch-ended before the next starts.
    let open: string | null = null;
    for (const e of events) {
      if (e.kind === 'switch-started') {
        expect(open).toBeNull();
        open = e.switchId;
      } else if (e.kind === 'switch-ended') {
        expect(e.switchId).toBe(open);
        open = null;
      }
    }
    expect(events.filter((e) => e.kind === 'request-coalesced').length).toBe(superseded.length);
  });

  it('the same target asked twice while a switch runs is answered by one switch', async () => {
    const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
    await h.service.reconcile();
    const [a, b, c] = await Promise.all([
      h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'tray' }),
      h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'shortcut' }),
      h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' }),
    ]);
    expect(a.outcome).toBe('succeeded');
    expect(b.switchId).toBe(c.switchId);
    expect(b.outcome).toBe('succeeded');
    expect(realOwner(h.sim, GPU_A)).toBe('linux-dev');
  });

  it('refuses unknown GPUs and targets before anything moves', async () => {
    const h = makeHarness();
    await expect(h.service.switchGpu({ gpu: 'gpu-z', target: 'win11', requestedBy: 'cli' })).rejects.toThrow(/no GPU named "gpu-z"/);
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'nowhere', requestedBy: 'cli' })).rejects.toThrow(/no VM named "nowhere"/);
    expect(h.history.query({}).entries).toEqual([]);
  });

  it('refuses to hot-unplug from a VM the user paused, and leaves it paused and holding the GPU', async () => {
    const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
    await h.service.reconcile();
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' })).outcome).toBe('succeeded');
    await h.sim.backendFor('win11').pause('win11');
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' });
    expect(r.outcome).toBe('rolled-back');
    expect(r.error).toMatch(/win11 is paused/);
    expect(realOwner(h.sim, GPU_A)).toBe('win11');
    expect(h.sim.snapshot().vms.find((v) => v.name === 'win11')!.state).toBe('paused');
  });
});

describe('a flood of alternating requests while one switch runs', () => {
  it('folds them into the next switch with a bounded list and a count, answering every caller', async () => {
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const ran: SwitchJob[] = [];
    const queue = new GpuQueue(
      async (_gpu, job) => {
        ran.push({ ...job, coalesced: [...job.coalesced] });
        if (ran.length === 1) await first;
        return { switchId: job.switchId, outcome: 'succeeded', owner: job.target };
      },
      (_gpu, replaced, by) => ({ switchId: replaced.switchId, outcome: 'superseded', owner: 'host', supersededBy: by }),
      () => {},
    );
    const running = queue.submit('gpu-a', { target: 'win11', requestedBy: 'cli' });
    const flood = Array.from({ length: 5000 }, (_, i) => queue.submit('gpu-a', { target: i % 2 ? 'host' : 'park', requestedBy: 'cli' }));
    release();
    const answers = await Promise.all([running, ...flood]);
    expect(answers).toHaveLength(5001);
    expect(ran).toHaveLength(2);
    const winner = ran[1]!;
    expect(winner.coalesced).toHaveLength(MAX_COALESCED_LISTED);
    // Every replaced request is either listed or counted, none twice.
    expect(winner.coalesced.length + (winner.coalescedOmitted ?? 0)).toBe(4999);
    expect(new Set(winner.coalesced.map((c) => c.switchId)).size).toBe(MAX_COALESCED_LISTED);
    expect(answers.filter((a) => a.outcome === 'superseded')).toHaveLength(4999);
  });
});
