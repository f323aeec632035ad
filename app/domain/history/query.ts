// Filters and paging over the history, newest first. Pure: the store hands in its entries in file
// order (oldest first) and, for a fast cursor, its id → position index.
import type { HistoryEntry, Requester, SwitchOutcome } from './entry.js';

export interface HistoryFilter {
  gpu?: string;
  /** A VM (or 'host' / 'park') on either side of the switch. */
  vm?: string;
  outcome?: SwitchOutcome | readonly SwitchOutcome[];
  requestedBy?: Requester | readonly Requester[];
  /** Switches started at or after this time (ISO). */
  since?: string;
  /** Switches started before this time (ISO). */
  until?: string;
}

export interface HistoryQuery extends HistoryFilter {
  /** Page size; defaults to 50. */
  limit?: number;
  /** Cursor: only entries older than the entry with this id (the previous page's nextCursor). */
  before?: string;
  /** Matching entries to skip (after the cursor, when both are given). */
  offset?: number;
}

export interface HistoryPage {
  /** Newest first. */
  entries: HistoryEntry[];
  /** Pass as `before` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;

export class UnknownCursorError extends Error {
  constructor(readonly cursor: string) {
    super(`history cursor ${JSON.stringify(cursor)} is not in the history (rotated away?); start again from the newest page`);
    this.name = 'UnknownCursorError';
  }
}

function oneOf<T>(wanted: T | readonly T[] | undefined): ((value: T) => boolean) | null {
  if (wanted === undefined) return null;
  const set = new Set<T>(Array.isArray(wanted) ? wanted : [wanted as T]);
  return (value) => set.has(value);
}

function timeBound(iso: string | undefined, name: string): number | null {
  if (iso === undefined) return null;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`history filter ${name}: ${JSON.stringify(iso)} is not a time`);
  return t;
}

/** A predicate for the filter; time bounds are parsed once here, not per entry. */
export function matcher(filter: HistoryFilter): (entry: HistoryEntry) => boolean {
  const outcome = oneOf(filter.outcome);
  const requester = oneOf(filter.requestedBy);
  const since = timeBound(filter.since, 'since');
  const until = timeBound(filter.until, 'until');
  return (e) => {
    if (filter.gpu !== undefined && e.gpu !== filter.gpu) return false;
    if (filter.vm !== undefined && e.from !== filter.vm && e.to !== filter.vm) return false;
    if (outcome && !outcome(e.outcome)) return false;
    if (requester && !requester(e.requestedBy)) return false;
    if (since !== null || until !== null) {
      const started = Date.parse(e.startedAt);
      if (since !== null && started < since) return false;
      if (until !== null && started >= until) return false;
    }
    return true;
  };
}

/**
 * One page of matching entries, newest first. "Newest" is file order (the order switches ended and
 * were appended), which the cursor relies on; startedAt only filters.
 */
export function pageHistory(
  oldestFirst: readonly HistoryEntry[],
  query: HistoryQuery = {},
  positionOf: (id: string) => number | undefined = (id) => {
    const i = oldestFirst.findIndex((e) => e.id === id);
    return i === -1 ? undefined : i;
  },
): HistoryPage {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`history limit must be a positive integer, not ${limit}`);
  let skip = query.offset ?? 0;
  if (!Number.isInteger(skip) || skip < 0) throw new RangeError(`history offset must be a non-negative integer, not ${skip}`);
  let from = oldestFirst.length - 1;
  if (query.before !== undefined) {
    const position = positionOf(query.before);
    if (position === undefined) throw new UnknownCursorError(query.before);
    from = position - 1;
  }
  const matches = matcher(query);
  const entries: HistoryEntry[] = [];
  let i = from;
  for (; i >= 0 && entries.length < limit; i--) {
    const entry = oldestFirst[i]!;
    if (!matches(entry)) continue;
    if (skip > 0) skip--;
    else entries.push(entry);
  }
  // A further match past the page decides whether there is a next page.
  let more = false;
  for (; i >= 0 && !more; i--) more = matches(oldestFirst[i]!);
  const last = entries[entries.length - 1];
  return { entries, nextCursor: more && last ? last.id : null };
}
