// Formatting for people: durations, times, rates. Pure; locale-independent so tests and
// screenshots read the same everywhere.

/** 840 ms, 1.2 s, 12 s, 2 min 05 s, 1 h 02 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${(Math.floor(s * 10) / 10).toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const totalS = Math.floor(s);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min ${String(totalS % 60).padStart(2, '0')} s`;
  const totalMin = Math.floor(totalS / 60);
  return `${Math.floor(totalMin / 60)} h ${String(totalMin % 60).padStart(2, '0')} min`;
}

/** 2026-12-01 20:51:07 in the viewer's local time (what `date` shows). */
export function formatTime(iso: string | undefined, timeZone?: string): string {
  if (iso === undefined) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(t));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** "3 min ago", "just now", "2 d ago"; `now` is passed in so the function stays pure. */
export function formatAgo(iso: string | undefined, now: number): string {
  if (iso === undefined) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** 0.9876 → "98.8 %"; null → "—". */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${(Math.round(rate * 1000) / 10).toFixed(1)} %`;
}

/** What an owner is called on screen. */
export function ownerLabel(owner: string): string {
  if (owner === 'host') return 'Host';
  if (owner === 'park') return 'Parked (no one)';
  return owner;
}

/** "1920×1080" or "unknown mode". */
export function formatMode(mode: { width: number; height: number; refreshHz?: number | null } | null | undefined): string {
  if (!mode) return 'unknown mode';
  const hz = mode.refreshHz ? ` @ ${Math.round(mode.refreshHz)} Hz` : '';
  return `${mode.width}×${mode.height}${hz}`;
}
