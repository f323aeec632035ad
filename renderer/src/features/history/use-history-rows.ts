// Rows of the (filtered) history for a virtualized table: fetched a page at a time as they come
// into view, kept in a sparse cache, dropped when the filter changes or a switch is recorded.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DeskClient, DeskHistoryEntry, DeskHistoryQuery } from '../../../client/types';

export const PAGE_SIZE = 200;

export interface HistoryRows {
  total: number | null;
  /** The entry at this index (newest first), or undefined while its page is loading. */
  row(index: number): DeskHistoryEntry | undefined;
  /** Ask for the pages covering these indexes. */
  ensure(first: number, last: number): void;
  error: string | null;
}

export function useHistoryRows(client: DeskClient, query: Omit<DeskHistoryQuery, 'limit' | 'offset' | 'before'> | null, generation: number): HistoryRows {
  const key = JSON.stringify(query);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, setVersion] = useState(0);
  const pages = useRef(new Map<number, DeskHistoryEntry[]>());
  /** After a switch is recorded, the pages seen before stay on screen until their fresh copies arrive (no flash of empty rows). */
  const fallback = useRef(new Map<number, DeskHistoryEntry[]>());
  const lastKey = useRef(key);
  const loading = useRef(new Set<number>());
  const epoch = useRef(0);

  const load = useCallback((page: number) => {
    if (query === null || pages.current.has(page) || loading.current.has(page)) return;
    loading.current.add(page);
    const mine = epoch.current;
    client.historyPage({ ...query, limit: PAGE_SIZE, offset: page * PAGE_SIZE }).then(
      (answer) => {
        if (mine !== epoch.current) return;
        loading.current.delete(page);
        pages.current.set(page, answer.entries);
        fallback.current.delete(page);
        setTotal(answer.total);
        setError(null);
        setVersion((v) => v + 1);
      },
      (err: unknown) => {
        if (mine !== epoch.current) return;
        loading.current.delete(page);
        setError(err instanceof Error ? err.message : String(err));
      },
    );
  }, [client, key]); // key stands for query (a new object each render)

  useEffect(() => {
    epoch.current++;
    fallback.current = lastKey.current === key ? pages.current : new Map();
    lastKey.current = key;
    pages.current = new Map();
    loading.current = new Set();
    setVersion((v) => v + 1);
    load(0);
  }, [load, generation, key]); // generation: a switch was recorded, refetch

  return {
    total: query === null ? 0 : total,
    error,
    row: (index) => {
      const page = Math.floor(index / PAGE_SIZE);
      return (pages.current.get(page) ?? fallback.current.get(page))?.[index % PAGE_SIZE];
    },
    ensure: (first, last) => {
      for (let p = Math.floor(Math.max(0, first) / PAGE_SIZE); p <= Math.floor(Math.max(0, last) / PAGE_SIZE); p++) load(p);
    },
  };
}
