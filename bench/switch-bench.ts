// What Baton itself adds to a switch: the engine (planning, journal fsyncs, history append, registry
// save) over the simulated workstation with zero latency, so only Baton's own work is timed; and the
// inventory of a captured sysfs tree (what every status and switch reads).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalBook } from '../app/helper/engine/journal.js';
import { RegistryOwnerBook } from '../app/helper/engine/owner-book.js';
import { HelperService } from '../app/helper/engine/service.js';
import { createSimulatedWorkstation } from '../app/helper/simulate/index.js';
import { HistoryStore } from '../app/helper/store/history-store.js';
import { OwnershipStore } from '../app/helper/store/ownership-store.js';
import { readInventory } from '../app/host/inventory.js';
import { extractSysfsFixture } from '../test/lab/lib/fixtures.js';

const count = Number(process.argv[2] ?? 200);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function report(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(`${name}: n=${samples.length} median ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`);
}

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
const sim = createSimulatedWorkstation({ speed: 0, stateDir: dir, vms: { 'vm-xen': { state: 'shut-off' } } });
const history = HistoryStore.open(join(dir, 'history.jsonl'));
const service = new HelperService({
  config: sim.config, host: sim.host, backendFor: sim.backendFor,
  journals: new JournalBook(join(dir, 'journal'), sim.config.gpus.map((g) => g.name)),
  log: () => {},
  owners: new RegistryOwnerBook(new OwnershipStore(join(dir, 'ownership.json'))),
  history,
});
await service.reconcile();

const targets = ['win11', 'linux-dev', 'host', 'park'];
const switches: number[] = [];
const ownPerSwitch: number[] = [];
const ownPerStep: number[] = [];
for (let i = 0; i < count; i++) {
  const t0 = performance.now();
  const r = await service.switchGpu({ gpu: 'gpu-a', target: targets[i % targets.length]!, requestedBy: 'cli' });
  switches.push(performance.now() - t0);
  if (r.outcome !== 'succeeded') throw new Error(`switch ${i} ended ${r.outcome}: ${r.error}`);
  // The engine's own record of the same (ownMs: wall time less the waits on the ports).
  const entry = history.get(r.switchId);
  if (entry?.ownMs !== undefined) ownPerSwitch.push(entry.ownMs);
  for (const step of entry?.steps ?? []) if (step.ownMs !== undefined) ownPerStep.push(step.ownMs);
}
report('switch overhead (engine + journal + history + registry, zero-latency ports)', switches);
report('own time per switch as the history records it (ownMs)', ownPerSwitch);
report('own time per step as the history records it (step ownMs)', ownPerStep);

const root = extractSysfsFixture('workstation');
const inventories: number[] = [];
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  readInventory({ sysfsRoot: root });
  inventories.push(performance.now() - t0);
}
report('inventory of the captured workstation tree (with pci.ids)', inventories);
