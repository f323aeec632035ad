// After a crash: each GPU's journal says which switch was under way and how far it got; the machine
// says where the GPU really is. The switch is finished when the target really has it, otherwise the
// GPU goes back to where it came from; if that fails too, it is parked, or recorded lost.
// Recovery never keeps the helper from starting: a journal it cannot use is set aside and reported.
import type { SwitchResult } from '../../domain/switch/service.js';
import type { FoundJournal, JournalBook } from './journal.js';
import type { HistorySink, ResolvedGpu, SwitchEngine } from './switch-engine.js';

export interface RecoveryOutcome {
  /** One per interrupted switch that was finished or rolled back now. */
  results: SwitchResult[];
  /** What could not be recovered, as sentences (also in `status`). */
  problems: string[];
}

/** Recovers one GPU's journal; never throws. */
export async function recoverJournal(
  engine: SwitchEngine,
  found: FoundJournal,
  deps: { journals: JournalBook; history: HistorySink; resolveGpu: (name: string) => Promise<ResolvedGpu> },
): Promise<{ result: SwitchResult | null; problem: string | null }> {
  const { record, journal } = found;
  const aside = (why: string) => {
    try {
      return `${why}; moved the journal to ${deps.journals.moveAside(journal.path)}`;
    } catch (err) {
      return `${why}; could not move the journal ${journal.path} aside: ${(err as Error).message}`;
    }
  };
  if (!record) return { result: null, problem: found.problem ? aside(found.problem) : null };
  // Given up while a call was out (its history entry is written, its outcome not yet): the call
  // died with the old helper, so look now and record where the GPU is, as its end would have.
  if (record.phase === 'awaiting-late') {
    try {
      return { result: await engine.settleJournal(await deps.resolveGpu(record.gpu), record), problem: null };
    } catch (err) {
      return { result: null, problem: aside(`switch ${record.switchId} of ${record.gpu} was waiting for a late call, but ${(err as Error).message}`) };
    }
  }
  // Killed after the history line and before the journal went: the switch had ended.
  if (deps.history.get(record.switchId)) {
    journal.clear();
    return { result: null, problem: null };
  }
  let gpu: ResolvedGpu;
  try {
    gpu = await deps.resolveGpu(record.gpu);
  } catch (err) {
    return { result: null, problem: aside(`switch ${record.switchId} of ${record.gpu} was interrupted, but ${(err as Error).message}`) };
  }
  try {
    const interrupted = record.current ?? (record.phase === 'forward' ? 'the end of the switch' : `the ${record.phase}`);
    record.steps.push({ name: record.current ?? record.phase, outcome: 'failed', ms: 0, error: 'the helper stopped during this step' });
    const why = `the helper stopped during ${interrupted}`;
    const seen = await engine.look(gpu);
    if (seen.owner === 'unknown') return { result: await engine.uncertain(gpu, record, 'lost', why, seen), problem: null };
    if (record.phase === 'forward' && seen.owner === record.to && seen.partial.length === 0) {
      return { result: engine.finish(gpu, record, 'succeeded', record.to, `${why}; the target had the GPU when the helper came back`), problem: null };
    }
    record.phase = 'unwinding';
    return { result: await engine.comeBack(gpu, record, record.from, why), problem: null };
  } catch (err) {
    // A bug or a store that cannot be written: the GPU is lost until someone looks; the helper starts.
    const problem = aside(`recovering switch ${record.switchId} of ${gpu.name} failed: ${(err as Error).message}`);
    return { result: null, problem };
  }
}
