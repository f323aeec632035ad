// Shows the switch notices (notification-text.ts) through the system's notifications; a click
// opens the window on that switch. Each switch is announced at most once per phase, even when a
// reconnect replays what was already seen.
import type { DeskEvent } from '../protocol/desk.js';
import { noticeFor } from './notification-text.js';
import type { NotifierPort, WindowPort } from './ports.js';

const REMEMBERED = 500;

export class NotificationController {
  private readonly announced = new Set<string>();

  constructor(private readonly notifier: NotifierPort, private readonly window: WindowPort) {}

  handle(event: DeskEvent): void {
    const notice = noticeFor(event);
    if (!notice || !this.notifier.isSupported()) return;
    const key = `${notice.phase}:${notice.switchId}`;
    if (this.announced.has(key)) return;
    this.announced.add(key);
    if (this.announced.size > REMEMBERED) this.announced.delete(this.announced.values().next().value as string);
    const { title, body, urgency } = notice;
    this.notifier.show({ title, body, urgency }, () => {
      this.window.show();
      this.window.focusSwitch(notice.switchId);
    });
  }
}
