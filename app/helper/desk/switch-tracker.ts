// The switches under way, followed from the engine's events: which GPU, where to, the step running
// and the steps done. The desk shows these live; the history has them once a switch has ended.
import type { SwitchEvent } from '../../domain/switch/ports.js';
import type { DeskCurrentSwitch } from '../../protocol/desk.js';

export class SwitchTracker {
  private readonly running = new Map<string, { gpu: string; current: DeskCurrentSwitch }>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Follows one event; returns whether anything the desk shows changed. */
  apply(event: SwitchEvent): boolean {
    switch (event.kind) {
      case 'switch-started':
        this.running.set(event.switchId, {
          gpu: event.gpu,
          current: { switchId: event.switchId, from: event.from, to: event.to, requestedBy: event.requestedBy, startedAt: this.now().toISOString(), step: null, steps: [] },
        });
        return true;
      case 'step-started': {
        const run = this.running.get(event.switchId);
        if (!run) return false;
        run.current = { ...run.current, step: { name: event.step, detail: event.detail, startedAt: event.at } };
        return true;
      }
      case 'step-ended': {
        const run = this.running.get(event.switchId);
        if (!run) return false;
        const step = { name: event.step, outcome: event.outcome, ms: event.ms, ...(event.error !== undefined ? { error: event.error } : {}) };
        run.current = { ...run.current, step: null, steps: [...run.current.steps, step] };
        return true;
      }
      case 'switch-ended':
        return this.running.delete(event.switchId);
      case 'request-coalesced':
        return false;
    }
  }

  /** The switch of this GPU under way, if any. */
  currentOf(gpu: string): DeskCurrentSwitch | null {
    for (const run of this.running.values()) if (run.gpu === gpu) return run.current;
    return null;
  }
}
