// The history as a virtualized grid: only the rows in view are in the DOM, so 100,000 entries
// scroll like 100. Keyboard: arrows, Page Up/Down, Home/End move the active row; Enter or Space
// chooses it for the timeline.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { DeskHistoryEntry } from '../../../client/types';
import { formatDuration, formatTime, ownerLabel } from '../../lib/format';
import type { HistoryRows } from './use-history-rows';

const ROW_HEIGHT = 32;
const COLUMNS = ['Started', 'GPU', 'From → to', 'Outcome', 'Duration', 'By'];

export function HistoryTable({ rows, selectedId, onSelect }: { rows: HistoryRows; selectedId: string | null; onSelect: (entry: DeskHistoryEntry) => void }) {
  const scroller = useRef<HTMLDivElement>(null);
  const count = rows.total ?? 0;
  const [active, setActive] = useState(0);
  const virtualizer = useVirtualizer({ count, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 8 });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;

  useEffect(() => {
    if (count > 0) rows.ensure(first, last);
  }, [rows, first, last, count]);
  useEffect(() => {
    if (active >= count && count > 0) setActive(count - 1);
  }, [active, count]);

  const move = (to: number) => {
    const i = Math.max(0, Math.min(count - 1, to));
    setActive(i);
    virtualizer.scrollToIndex(i, { align: 'auto' });
  };
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (count === 0) return;
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 320) / ROW_HEIGHT) - 1);
    const keys: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: count - 1 };
    if (e.key in keys) {
      e.preventDefault();
      move(keys[e.key]!);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      const entry = rows.row(active);
      if (entry) onSelect(entry);
    }
  };

  const activeRendered = items.some((it) => it.index === active);
  return (
    <div
      ref={scroller}
      className="vlist"
      role="grid"
      aria-label={`Switch history, ${count} entries`}
      aria-rowcount={count + 1}
      aria-colcount={COLUMNS.length}
      tabIndex={0}
      onKeyDown={onKey}
      aria-activedescendant={count > 0 && activeRendered ? `hrow-${active}` : undefined}
      data-testid="history-grid"
    >
      <div className="vrow head" role="row" aria-rowindex={1}>
        {COLUMNS.map((c) => <span key={c} role="columnheader">{c}</span>)}
      </div>
      <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {items.map((item) => {
          const entry = rows.row(item.index);
          const selected = entry !== undefined && entry.id === selectedId;
          return (
            <div
              key={item.key}
              id={`hrow-${item.index}`}
              role="row"
              aria-rowindex={item.index + 2}
              aria-selected={selected}
              className={`vrow${item.index === active ? ' active' : ''}`}
              style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              onClick={() => { setActive(item.index); if (entry) onSelect(entry); }}
              data-entry={entry?.id}
            >
              {entry ? (
                <>
                  <span role="gridcell">{formatTime(entry.startedAt)}</span>
                  <span role="gridcell">{entry.gpu}</span>
                  <span role="gridcell">{ownerLabel(entry.from)} → {ownerLabel(entry.to)}</span>
                  <span role="gridcell" className={`outcome outcome-${entry.outcome}`}>{entry.outcome}</span>
                  <span role="gridcell">{formatDuration(entry.durationMs)}</span>
                  <span role="gridcell">{entry.requestedBy}</span>
                </>
              ) : (
                <span role="gridcell" className="muted">loading…</span>
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
