// Every switch: filters, the virtualized table, the chosen switch's step timeline, the stats.
import { useMemo, useState } from 'react';
import type { DeskHistoryEntry } from '../../../client/types';
import { useDesk, useDeskStore } from '../../state/use-desk';
import { ownerLabel } from '../../lib/format';
import { EMPTY_FILTER, OUTCOME_CHOICES, REQUESTER_CHOICES, filterToQuery, type HistoryFilterForm } from './history-filter';
import { HistoryTable } from './HistoryTable';
import { StepTimeline } from './StepTimeline';
import { StatsPanel } from './StatsPanel';
import { useHistoryRows } from './use-history-rows';

export function HistoryView() {
  const store = useDeskStore();
  const { desk, historyGeneration } = useDesk();
  const [form, setForm] = useState<HistoryFilterForm>(EMPTY_FILTER);
  const [selected, setSelected] = useState<DeskHistoryEntry | null>(null);
  const result = useMemo(() => filterToQuery(form), [form]);
  const rows = useHistoryRows(store.client, result.ok ? result.query : null, historyGeneration);
  if (!desk) return null;
  const parties = ['host', 'park', ...desk.vms.map((v) => v.name)];
  const set = (field: keyof HistoryFilterForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: e.target.value }));
  const invalid = result.ok ? null : result;

  return (
    <div>
      <h1>History</h1>
      <form className="filters" aria-label="Filter the history" onSubmit={(e) => e.preventDefault()}>
        <label>GPU
          <select value={form.gpu} onChange={set('gpu')} name="gpu">
            <option value="">any</option>
            {desk.gpus.map((g) => <option key={g.name} value={g.name}>{g.name}</option>)}
          </select>
        </label>
        <label>VM (either side)
          <select value={form.vm} onChange={set('vm')} name="vm">
            <option value="">any</option>
            {parties.map((p) => <option key={p} value={p}>{ownerLabel(p)}</option>)}
          </select>
        </label>
        <label>Outcome
          <select value={form.outcome} onChange={set('outcome')} name="outcome">
            <option value="">any</option>
            {OUTCOME_CHOICES.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </label>
        <label>Asked by
          <select value={form.requester} onChange={set('requester')} name="requester">
            <option value="">anyone</option>
            {REQUESTER_CHOICES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
        <label>From
          <input type="datetime-local" value={form.since} onChange={set('since')} name="since" aria-invalid={invalid?.field === 'since'} aria-describedby={invalid ? 'filter-error' : undefined} />
        </label>
        <label>To
          <input type="datetime-local" value={form.until} onChange={set('until')} name="until" aria-invalid={invalid?.field === 'until'} aria-describedby={invalid ? 'filter-error' : undefined} />
        </label>
        <button type="button" onClick={() => setForm(EMPTY_FILTER)} disabled={form === EMPTY_FILTER}>Clear filters</button>
      </form>
      {invalid ? <p id="filter-error" className="finding-error" role="alert">{invalid.message}</p> : null}
      {rows.error ? <p className="finding-error" role="alert">Could not load the history: {rows.error}</p> : null}
      <p className="muted" role="status" aria-live="polite" data-testid="history-count">
        {rows.total === null ? 'Loading the history…' : `${rows.total.toLocaleString('en')} ${rows.total === 1 ? 'switch' : 'switches'}${result.ok && Object.keys(result.query).length > 0 ? ' match' : ' recorded'}.`}
      </p>
      <div className="history-layout">
        <div>
          <HistoryTable rows={rows} selectedId={selected?.id ?? null} onSelect={setSelected} />
          <p className="muted">Arrow keys move through the switches; Enter shows one&apos;s steps.</p>
        </div>
        <div>
          {selected ? <StepTimeline entry={selected} /> : <section className="panel"><h2>Steps</h2><p className="muted">Choose a switch to see its steps on a timeline.</p></section>}
          <StatsPanel stats={desk.stats} />
        </div>
      </div>
    </div>
  );
}
