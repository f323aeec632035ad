// The live progress of `baton switch`: which events belong to this request, and one line for
// each step start and end.
import type { ServiceEvent } from '../../domain/switch/service.js';

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * Follows the first switch of `gpu` to `target` requested from the CLI, and prints its steps.
 * (The helper names the switch only when it ends, so it is recognised by what it moves.)
 */
export class SwitchProgress {
  private switchId: string | null = null;

  constructor(private readonly gpu: string, private readonly target: string, private readonly print: (line: string) => void) {}

  onEvent(event: ServiceEvent): void {
    switch (event.kind) {
      case 'switch-started':
        if (this.switchId || event.gpu !== this.gpu || event.to !== this.target || event.requestedBy !== 'cli') return;
        this.switchId = event.switchId;
        return this.print(`${event.gpu}: ${event.from} → ${event.to}`);
      case 'request-coalesced':
        if (event.gpu === this.gpu) this.print(`  a queued move to ${event.replacedTarget} was replaced by the move to ${event.target}`);
        return;
      case 'step-started':
        if (event.switchId === this.switchId) this.print(`  ${event.step} …${event.detail ? ` ${event.detail}` : ''}`);
        return;
      case 'step-ended':
        if (event.switchId !== this.switchId) return;
        if (event.outcome === 'failed') return this.print(`  ${event.step} FAILED after ${formatMs(event.ms)}${event.error ? `: ${event.error}` : ''}`);
        if (event.outcome === 'skipped') return this.print(`  ${event.step} skipped${event.error ? `: ${event.error}` : ''}`);
        return this.print(`  ${event.step} ${event.outcome} in ${formatMs(event.ms)}`);
      default:
        return;
    }
  }
}
