// The feed under random interleavings of changes, late answers from the host and the service, and
// clients asking for snapshots meanwhile: pushed revisions only grow, every ask is answered, and the
// last change is never lost (a snapshot taken after it is pushed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceEvent, StatusSnapshot } from '../../../app/domain/switch/service.js';
import { DeskFeed } from '../../../app/helper/desk/feed.js';
import { createSimulatedWorkstation } from '../../../app/helper/simulate/index.js';
import type { DeskSnapshot } from '../../../app/protocol/desk.js';

const OWNERS = ['host', 'win11', 'linux-dev', 'park'] as const;

describe('the desk feed under random interleavings', () => {
  it('never loses the last change, never goes back in revision, answers every ask', async () => {
    const sim = createSimulatedWorkstation({ speed: 0 });
    const inventory = sim.workstation.inventory();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ owner: fc.constantFrom(...OWNERS), ask: fc.boolean(), pause: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 12 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 4 })),
        async (steps, delays) => {
          const delay = () => new Promise((r) => setTimeout(r, delays.next().value as number));
          let owner: string = 'host';
          let emit: (e: ServiceEvent) => void = () => {};
          const feed = new DeskFeed({
            service: {
              async status(): Promise<StatusSnapshot> {
                const now = owner; // the answer is of the moment it was asked, and it comes late
                await delay();
                return { gpus: [{ name: 'gpu-a', address: inventory.gpus[1]!.address, owner: now, functions: [], busy: false }], vms: [], disagreements: [] };
              },
              subscribe(listener) {
                emit = listener;
                return () => {};
              },
            },
            host: { inventory: async () => (await delay(), inventory) },
            history: { query: () => ({ entries: [], nextCursor: null }) },
            config: sim.config,
            configFile: null,
            stateDir: null,
            helper: { version: 'test', simulated: true },
          });
          const pushed: DeskSnapshot[] = [];
          feed.subscribe((e) => e.kind === 'desk-changed' && pushed.push(e.snapshot));
          const asks: Promise<DeskSnapshot>[] = [];
          for (const [i, step] of steps.entries()) {
            owner = step.owner;
            emit({ kind: 'switch-ended', switchId: `s${i}`, outcome: 'succeeded', owner: step.owner });
            if (step.ask) asks.push(feed.snapshot());
            if (step.pause) await new Promise((r) => setTimeout(r, step.pause));
          }
          const answered = await Promise.all(asks);
          expect(answered).toHaveLength(asks.length);
          // Quiet now: wait for the feed to settle (no build under way), then look at what it pushed.
          for (let i = 0; i < 400 && pushed.at(-1)?.gpus[0]?.owner !== owner; i++) await new Promise((r) => setTimeout(r, 5));
          const revisions = pushed.map((s) => s.revision);
          expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
          expect(new Set(revisions).size).toBe(revisions.length);
          expect(pushed.at(-1)?.gpus[0]?.owner).toBe(owner);
          feed.close();
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});
