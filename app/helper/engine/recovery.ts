// After a crash: the journal says which switch was under way and how far it got; the machine says
// where the GPU really is. The switch is finished when the target really has it, otherwise the GPU
// goes back to where it came from; if that fails too, it is parked.
import { planSwitch } from '../../domain/switch/plan.js';
import type { Owner } from '../../domain/switch/ports.js';
import type { SwitchResult } from '../../domain/switch/service.js';
import { observeOwner } from './observe.js';
import type { EngineDeps, ResolvedGpu, SwitchEngine } from './switch-engine.js';
import { planVms } from './switch-engine.js';
import type { JournalRecord } from './journal.js';

export interface RecoveryOutcome {
  result: SwitchResult | null;
  /** Why the journal could not be used, when it could not. */
  problem: string | null;
}

export async function recoverInterruptedSwitch(engine: SwitchEngine, deps: EngineDeps, resolveGpu: (name: string) => Promise<ResolvedGpu>): Promise<RecoveryOutcome> {
  const { record, problem } = deps.journal.read();
  if (!record) {
    if (problem) deps.journal.clear();
    return { result: null, problem };
  }
  const gpu = await resolveGpu(record.gpu);
  const interrupted = record.current ?? (record.phase === 'forward' ? 'the end of the switch' : `the ${record.phase}`);
  record.steps.push({ name: record.current ?? record.phase, outcome: 'failed', ms: 0, error: 'the helper stopped during this step' });
  const why = `the helper stopped during ${interrupted}`;

  const seen = await observeOwner(deps, gpu);
  // A VM with only some of the functions (a hot-plug cut short between them) does not have the GPU.
  const whole = seen.partial.length === 0;
  if (record.phase === 'forward' && seen.owner === record.to && whole) {
    return { result: engine.finish(gpu, record, 'succeeded', record.to, `${why}; the target had the GPU when the helper came back`), problem: null };
  }
  if (seen.owner === 'conflict') return { result: await engine.park(gpu, record, `${why}; more than one VM holds functions of ${gpu.name}: ${seen.holders.join(', ')}`), problem: null };

  const source = record.from as Owner;
  if (seen.owner === source && whole) return { result: engine.finish(gpu, record, 'rolled-back', source, `${why}; the GPU was still with ${source}`), problem: null };

  // Plan the way back from where the GPU really is. Functions split between host drivers and
  // vfio-pci count as "host": claiming is idempotent and finishes the move to vfio-pci.
  const actual: Owner = seen.owner === 'mixed' ? 'host' : seen.owner;
  const planGpu = { name: gpu.name, address: gpu.address, functions: gpu.functions, reset: gpu.config.reset, policy: { movablePeers: gpu.config.movablePeers, allowBootVga: gpu.config.allowBootVga, loadVfioModule: gpu.config.loadVfioModule }, ...(gpu.config.vbios ? { vbios: gpu.config.vbios } : {}) };
  const vms = planVms(deps.config);
  let plan = seen.owner === 'mixed' && source === 'host'
    ? { gpu: gpu.name, from: actual, to: source, steps: [{ name: 'return-to-host' as const }, { name: 'verify' as const, owner: source }] }
    : planSwitch(planGpu, actual, source, vms);
  if (!whole) {
    // The VM with part of the GPU lets go of it first (its release detaches only what it holds);
    // then the GPU, all of it on vfio-pci, goes back to the source, even when that is the same VM.
    const release = planSwitch(planGpu, actual, 'park', vms);
    plan = source === 'park' ? release : { gpu: gpu.name, from: actual, to: source, steps: [...release.steps.filter((s) => s.name === 'release'), ...planSwitch(planGpu, 'park', source, vms).steps] };
  }
  record.phase = 'unwinding';
  const result = await engine.runRecoveryPlan(gpu, record as JournalRecord, plan, why);
  return { result, problem: null };
}
