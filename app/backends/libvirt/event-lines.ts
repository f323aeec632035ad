// Lines of `virsh event --all --loop` → what happened to which domain.
import type { VmState } from '../../domain/vm/port.js';

export type DomainEvent =
  | { kind: 'lifecycle'; domain: string; state: VmState; raw: string }
  | { kind: 'device-removed'; domain: string; alias: string }
  | { kind: 'device-removal-failed'; domain: string; alias: string }
  | { kind: 'other'; domain: string; event: string; detail: string };

// virsh prints "event 'lifecycle' for domain 'vm1': Suspended Paused" (optionally after a --timestamp prefix).
const LINE = /^(?:.*?: )?event '([a-z-]+)' for domain '(.*)': (.*)$/;

// The first word of a lifecycle detail is virDomainEventType (virsh's virshDomainEventToString).
const LIFECYCLE: Record<string, VmState | null> = {
  Started: 'running',
  Resumed: 'running',
  Suspended: 'paused',
  PMSuspended: 'paused',
  Stopped: 'shut-off',
  Crashed: 'crashed',
  // "Shutdown Finished": the guest is powering off; "Stopped" follows when it is off.
  Shutdown: null,
  Defined: null,
  Undefined: null,
};

/** null for lines that are not domain events (blank lines, "events received: N"). */
export function parseEventLine(line: string): DomainEvent | null {
  const m = LINE.exec(line.trim());
  if (!m) return null;
  const [, event = '', domain = '', detail = ''] = m;
  switch (event) {
    case 'lifecycle': {
      const state = LIFECYCLE[detail.split(' ')[0] ?? ''];
      return state ? { kind: 'lifecycle', domain, state, raw: detail } : { kind: 'other', domain, event, detail };
    }
    case 'device-removed': return { kind: 'device-removed', domain, alias: detail };
    case 'device-removal-failed': return { kind: 'device-removal-failed', domain, alias: detail };
    default: return { kind: 'other', domain, event, detail };
  }
}
