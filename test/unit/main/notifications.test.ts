// One notification per outcome, with the right text; a click opens the window on that switch; a
// replayed event is not announced twice.
import { describe, expect, it } from 'vitest';
import { NotificationController } from '../../../app/main/notification-controller.js';
import { noticeFor } from '../../../app/main/notification-text.js';
import type { NotificationContent, NotifierPort, WindowPort } from '../../../app/main/ports.js';
import { entry, event } from './fixtures.js';

function harness(supported = true) {
  const shown: { content: NotificationContent; click: () => void }[] = [];
  const window: string[] = [];
  const notifier: NotifierPort = { isSupported: () => supported, show: (content, click) => void shown.push({ content, click }) };
  const win: WindowPort = { show: () => void window.push('show'), focusSwitch: (id) => void window.push(`focus ${id}`) };
  return { shown, window, controller: new NotificationController(notifier, win) };
}

const started = event({ kind: 'switch-started', switchId: 'sw-1', gpu: 'gpu-a', from: 'host', to: 'win11', requestedBy: 'shortcut' });
const failedSteps = [
  { name: 'release', outcome: 'ok' as const, ms: 10 },
  { name: 'reset', outcome: 'failed' as const, ms: 3000, error: 'FLR did not complete' },
  { name: 'claim', outcome: 'undone' as const, ms: 5 },
];

describe('notification text', () => {
  it('started: which GPU goes where, from where, asked by whom', () => {
    expect(noticeFor(started)).toMatchObject({ phase: 'started', switchId: 'sw-1', title: 'Moving gpu-a to win11', body: 'From host, requested by a shortcut.', urgency: 'low' });
  });

  it('done: where it is now and how long it took', () => {
    const n = noticeFor(event({ kind: 'history-appended', entry: entry({ durationMs: 4230 }) }));
    expect(n).toMatchObject({ phase: 'ended', title: 'gpu-a is now with win11', body: 'Moved from host in 4.2 s.', urgency: 'normal' });
  });

  it.each([
    ['rolled-back', 'host', 'Failed while resetting: FLR timed out. Rolled back: gpu-a is with the host again. (after 3.1 s)'],
    ['parked', 'park', 'Failed while resetting: FLR timed out. The rollback failed too: gpu-a is parked on vfio-pci, owned by no one. (after 3.1 s)'],
    ['failed', 'win11', 'Failed while resetting: FLR timed out. gpu-a is now with win11. (after 3.1 s)'],
  ] as const)('failed (%s): the step, the reason, where the GPU ended', (outcome, finalOwner, body) => {
    const n = noticeFor(event({ kind: 'history-appended', entry: entry({ outcome, finalOwner, durationMs: 3100, steps: failedSteps, error: 'FLR timed out' }) }));
    expect(n).toMatchObject({ title: 'Moving gpu-a to win11 failed', body, urgency: 'critical' });
  });

  it('failed without an entry-level error: the failed step\'s error is the reason', () => {
    const n = noticeFor(event({ kind: 'history-appended', entry: entry({ outcome: 'rolled-back', finalOwner: 'host', steps: failedSteps }) }));
    expect(n?.body).toMatch(/^Failed while resetting: FLR did not complete\./);
  });

  it('superseded: says it was replaced and where the GPU stays', () => {
    const n = noticeFor(event({ kind: 'history-appended', entry: entry({ outcome: 'superseded', finalOwner: 'host', durationMs: 0 }) }));
    expect(n).toMatchObject({ title: 'Move of gpu-a to win11 replaced', urgency: 'low' });
    expect(n?.body).toContain('stays with the host');
  });

  it('step events and snapshots make no notification', () => {
    expect(noticeFor(event({ kind: 'step-started', switchId: 'sw-1', step: 'reset', detail: '', at: 'x' }))).toBeNull();
    expect(noticeFor(event({ kind: 'switch-ended', switchId: 'sw-1', outcome: 'succeeded', owner: 'win11' }))).toBeNull();
  });
});

describe('NotificationController', () => {
  it('one notification per outcome; a click opens the window on that switch', () => {
    const h = harness();
    h.controller.handle(started);
    h.controller.handle(event({ kind: 'step-started', switchId: 'sw-1', step: 'reset', detail: '', at: 'x' }));
    h.controller.handle(event({ kind: 'history-appended', entry: entry({}) }));
    expect(h.shown.map((s) => s.content.title)).toEqual(['Moving gpu-a to win11', 'gpu-a is now with win11']);
    h.shown[1]?.click();
    expect(h.window).toEqual(['show', 'focus sw-1']);
  });

  it('a replayed start or end (after a reconnect) is announced once', () => {
    const h = harness();
    for (let i = 0; i < 3; i++) {
      h.controller.handle(started);
      h.controller.handle(event({ kind: 'history-appended', entry: entry({}) }));
    }
    expect(h.shown).toHaveLength(2);
  });

  it('shows nothing where the desktop has no notification service', () => {
    const h = harness(false);
    h.controller.handle(started);
    expect(h.shown).toHaveLength(0);
  });
});
