// The history view's filters as the form holds them (strings, '' meaning any), and the query they
// make. Pure, so the mapping is tested without a DOM.
import type { DeskHistoryQuery } from '../../../client/types';

export interface HistoryFilterForm {
  gpu: string;
  vm: string;
  outcome: string;
  requester: string;
  /** datetime-local values ("2026-12-01T20:00"), the viewer's local time. */
  since: string;
  until: string;
}

export const EMPTY_FILTER: HistoryFilterForm = { gpu: '', vm: '', outcome: '', requester: '', since: '', until: '' };

export const OUTCOME_CHOICES = ['succeeded', 'failed', 'rolled-back', 'parked', 'superseded'] as const;
export const REQUESTER_CHOICES = ['tray', 'shortcut', 'cli', 'browser', 'recovery'] as const;

export type FilterResult = { ok: true; query: Omit<DeskHistoryQuery, 'limit' | 'offset' | 'before'> } | { ok: false; field: keyof HistoryFilterForm; message: string };

/** The query for a filter form, or which field is wrong and why. */
export function filterToQuery(form: HistoryFilterForm): FilterResult {
  const query: Omit<DeskHistoryQuery, 'limit' | 'offset' | 'before'> = {};
  if (form.gpu) query.gpu = form.gpu;
  if (form.vm) query.vm = form.vm;
  if (form.outcome) {
    if (!(OUTCOME_CHOICES as readonly string[]).includes(form.outcome)) return { ok: false, field: 'outcome', message: `unknown outcome ${JSON.stringify(form.outcome)}` };
    query.outcome = form.outcome as (typeof OUTCOME_CHOICES)[number];
  }
  if (form.requester) {
    if (!(REQUESTER_CHOICES as readonly string[]).includes(form.requester)) return { ok: false, field: 'requester', message: `unknown requester ${JSON.stringify(form.requester)}` };
    query.requestedBy = form.requester as (typeof REQUESTER_CHOICES)[number];
  }
  for (const field of ['since', 'until'] as const) {
    if (!form[field]) continue;
    const t = localTimeToIso(form[field]);
    if (t === null) return { ok: false, field, message: `${JSON.stringify(form[field])} is not a date and time` };
    query[field] = t;
  }
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    return { ok: false, field: 'until', message: '"to" must be after "from"' };
  }
  return { ok: true, query };
}

/** A datetime-local value (local time, no zone) as an ISO time in UTC; null when it is not one. */
export function localTimeToIso(local: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(local)) return null;
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Where each step of a switch starts and ends, in ms from the switch's start (steps run one after another). */
export function stepSpans(steps: readonly { name: string; ms: number; outcome: string }[]): { name: string; outcome: string; start: number; end: number }[] {
  let t = 0;
  return steps.map((s) => {
    const start = t;
    t += Math.max(0, s.ms);
    return { name: s.name, outcome: s.outcome, start, end: t };
  });
}
