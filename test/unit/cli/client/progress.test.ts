// Which events `baton switch` shows: only its own switch's, even when others interleave.
import { describe, expect, it } from 'vitest';
import { formatMs, SwitchProgress } from '../../../../app/cli/client/progress.js';
import type { ServiceEvent } from '../../../../app/domain/switch/service.js';

const at = '2025-01-01T00:00:00Z';

function follow(gpu: string, target: string, events: ServiceEvent[]): string[] {
  const lines: string[] = [];
  const progress = new SwitchProgress(gpu, target, (l) => lines.push(l));
  for (const e of events) progress.onEvent(e);
  return lines;
}

describe('SwitchProgress', () => {
  it('follows the CLI switch of its GPU to its target and ignores interleaved ones', () => {
    const lines = follow('gpu0', 'win', [
      { kind: 'switch-started', switchId: 'tray', gpu: 'gpu0', from: 'host', to: 'park', requestedBy: 'tray' },
      { kind: 'switch-started', switchId: 'other-gpu', gpu: 'gpu1', from: 'host', to: 'win', requestedBy: 'cli' },
      { kind: 'switch-started', switchId: 'mine', gpu: 'gpu0', from: 'park', to: 'win', requestedBy: 'cli' },
      { kind: 'step-started', switchId: 'tray', step: 'release', detail: 'not mine', at },
      { kind: 'step-started', switchId: 'mine', step: 'attach', detail: 'hot-plug into rp1', at },
      { kind: 'step-ended', switchId: 'other-gpu', step: 'attach', outcome: 'ok', ms: 1 },
      { kind: 'step-ended', switchId: 'mine', step: 'attach', outcome: 'ok', ms: 1534 },
      { kind: 'step-started', switchId: 'mine', step: 'verify', detail: '', at },
      { kind: 'step-ended', switchId: 'mine', step: 'verify', outcome: 'failed', ms: 12, error: 'not visible in guest' },
    ]);
    expect(lines).toEqual(['gpu0: park → win', '  attach … hot-plug into rp1', '  attach ok in 1.53 s', '  verify …', '  verify FAILED after 12 ms: not visible in guest']);
  });

  it('mentions a queued move of its GPU that was replaced', () => {
    expect(follow('gpu0', 'win', [{ kind: 'request-coalesced', gpu: 'gpu0', replacedTarget: 'park', target: 'win' }])).toEqual([
      '  a queued move to park was replaced by the move to win',
    ]);
  });

  it('formats durations in ms below a second and in seconds above', () => {
    expect([formatMs(0), formatMs(999.4), formatMs(1000), formatMs(61_234)]).toEqual(['0 ms', '999 ms', '1.00 s', '61.23 s']);
  });
});
