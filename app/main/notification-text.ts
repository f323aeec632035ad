// What the user is told about a switch, as a pure function of the helper's desk events: one
// notification when it starts, one when it ends (done with its duration; failed with the step, the
// reason and where the GPU ended after the rollback). The end comes from the history entry the
// helper records, which has all of that in one place.
import type { DeskEvent, DeskHistoryEntry } from '../protocol/desk.js';
import type { NotificationContent } from './ports.js';
import { describeOwner, formatDuration, stepName } from './wording.js';

export interface SwitchNotice extends NotificationContent {
  /** The switch a click opens in the window. */
  switchId: string;
  phase: 'started' | 'ended';
}

const REQUESTED_BY: Record<string, string> = {
  tray: 'from the tray',
  shortcut: 'by a shortcut',
  cli: 'from the command line',
  browser: 'from the browser',
  recovery: 'by recovery after a restart',
};

export function noticeFor(event: DeskEvent): SwitchNotice | null {
  if (event.kind === 'switch-started') {
    return {
      switchId: event.switchId,
      phase: 'started',
      title: `Moving ${event.gpu} to ${event.to}`,
      body: `From ${event.from}, requested ${REQUESTED_BY[event.requestedBy] ?? `by ${event.requestedBy}`}.`,
      urgency: 'low',
    };
  }
  if (event.kind === 'history-appended') return endNotice(event.entry);
  return null;
}

function endNotice(entry: DeskHistoryEntry): SwitchNotice {
  const base = { switchId: entry.id, phase: 'ended' as const };
  const took = formatDuration(entry.durationMs);
  switch (entry.outcome) {
    case 'succeeded':
      return { ...base, title: `${entry.gpu} is now ${describeOwner(entry.finalOwner)}`, body: `Moved from ${entry.from} in ${took}.`, urgency: 'normal' };
    case 'superseded':
      return { ...base, title: `Move of ${entry.gpu} to ${entry.to} replaced`, body: `A later request for ${entry.gpu} took its place before it ran; ${entry.gpu} stays ${describeOwner(entry.finalOwner)}.`, urgency: 'low' };
    default: {
      const failed = entry.steps.find((s) => s.outcome === 'failed');
      const reason = entry.error ?? failed?.error ?? 'the helper gave no reason';
      const step = failed ? `Failed while ${stepName(failed.name)}` : 'Failed';
      const ended =
        entry.outcome === 'rolled-back'
          ? `Rolled back: ${entry.gpu} is ${describeOwner(entry.finalOwner)} again.`
          : entry.outcome === 'parked'
            ? `The rollback failed too: ${entry.gpu} is parked on vfio-pci, owned by no one.`
            : `${entry.gpu} is now ${describeOwner(entry.finalOwner)}.`;
      return { ...base, title: `Moving ${entry.gpu} to ${entry.to} failed`, body: `${step}: ${reason}. ${ended} (after ${took})`, urgency: 'critical' };
    }
  }
}
