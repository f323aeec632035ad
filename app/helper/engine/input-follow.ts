// The helper's side of inputs that follow GPUs (issue 12), beside the move-input step: where the
// return chord sends a GPU, and giving each VM that holds a GPU its inputs again after a restart.
import { inputsOfGpu, targetNames, type BatonConfig } from '../../domain/config/index.js';
import type { InputPort } from '../../domain/input/port.js';
import { isVm } from '../../domain/switch/plan.js';
import type { Owner } from '../../domain/switch/ports.js';
import type { Observed } from './observe.js';
import type { ResolvedGpu } from './switch-engine.js';

/**
 * Where the chord moves a GPU that `owner` has: the host (action host), or its next target in the
 * helper's order, park left out (action cycle). null when there is nowhere to go.
 */
export function chordTarget(config: BatonConfig, owner: Owner): string | null {
  if (config.inputs.returnChord.action === 'host') return owner === 'host' ? null : 'host';
  const ring = targetNames(config).filter((t) => t !== 'park');
  const next = ring[(ring.indexOf(owner) + 1) % ring.length] ?? null;
  return next === owner ? null : next;
}

export interface RestoreDeps {
  /** Runs in the GPU's queue: never beside a switch of it. */
  exclusive: <T>(gpu: string, work: () => Promise<T>) => Promise<T>;
  resolveGpu: (name: string) => Promise<ResolvedGpu>;
  look: (gpu: ResolvedGpu) => Promise<Observed>;
}

/**
 * For every GPU with inputs: a VM that holds all of it gets its inputs (relay and QEMU's objects
 * made again); otherwise they stay with the host. Returns what could not be done, as sentences.
 */
export async function restoreInputs(config: BatonConfig, inputs: InputPort, deps: RestoreDeps): Promise<string[]> {
  const withInputs = config.gpus.filter((g) => inputsOfGpu(config, g.name).length > 0);
  const problems = await Promise.all(withInputs.map((g) => deps.exclusive(g.name, async () => {
    const seen = await deps.look(await deps.resolveGpu(g.name));
    const vm = isVm(seen.owner) && seen.owner !== 'mixed' && seen.owner !== 'conflict' && seen.owner !== 'unknown' && seen.partial.length === 0 ? seen.owner : null;
    await inputs.follow(g.name, vm);
    return null;
  }).catch((err: Error) => `the keyboard and mouse of ${g.name} could not be given back to the VM that holds it: ${err.message}`)));
  return problems.filter((p): p is string => p !== null);
}
