// How switches have gone: overall, per GPU, per (from → to) pair.
import type { DeskStats, DeskSwitchStats } from '../../../client/types';
import { formatDuration, formatRate, ownerLabel } from '../../lib/format';

export function StatsPanel({ stats }: { stats: DeskStats }) {
  const o = stats.overall;
  return (
    <section className="panel" aria-labelledby="stats-title" data-testid="stats">
      <h2 id="stats-title">Stats</h2>
      <div className="stats-grid">
        <Stat label="Switches" value={String(o.total)} />
        <Stat label="Success rate" value={formatRate(o.successRate)} />
        <Stat label="Median" value={formatDuration(o.medianMs)} />
        <Stat label="p95" value={formatDuration(o.p95Ms)} />
        <Stat label="Failed" value={String(o.byOutcome.failed + o.byOutcome['rolled-back'] + o.byOutcome.parked)} />
      </div>
      {stats.byGpu.length > 0 ? <StatsTable caption="Per GPU" rows={stats.byGpu.map((s) => ({ key: s.gpu, label: s.gpu, s }))} /> : null}
      {stats.byPair.length > 0 ? <StatsTable caption="Per pair" rows={stats.byPair.map((s) => ({ key: `${s.from}>${s.to}`, label: `${ownerLabel(s.from)} → ${ownerLabel(s.to)}`, s }))} /> : null}
      <p className="muted">Durations count succeeded switches; the success rate leaves out superseded requests.</p>
    </section>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return <div className="stat"><div className="muted">{label}</div><div className="value">{value}</div></div>;
}

function StatsTable({ caption, rows }: { caption: string; rows: { key: string; label: string; s: DeskSwitchStats }[] }) {
  return (
    <table className="data">
      <caption>{caption}</caption>
      <thead><tr><th scope="col">{caption === 'Per GPU' ? 'GPU' : 'Switch'}</th><th scope="col">Count</th><th scope="col">Success</th><th scope="col">Median</th><th scope="col">p95</th></tr></thead>
      <tbody>
        {rows.map(({ key, label, s }) => (
          <tr key={key}><th scope="row">{label}</th><td>{s.total}</td><td>{formatRate(s.successRate)}</td><td>{formatDuration(s.medianMs)}</td><td>{formatDuration(s.p95Ms)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}
