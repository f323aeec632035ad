// One switch's steps on a time axis (a lane per step, a bar from its start to its end), drawn with
// uPlot; the same figures as a table for screen readers and for anyone who wants the numbers.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DeskHistoryEntry } from '../../../client/types';
import { formatDuration, formatTime, ownerLabel } from '../../lib/format';
import { stepSpans } from './history-filter';
import { useMediaQuery } from '../../lib/use-media-query';

const OUTCOME_VAR: Record<string, string> = { ok: '--ok', failed: '--fail', undone: '--warn', skipped: '--text-muted' };

export function StepTimeline({ entry }: { entry: DeskHistoryEntry }) {
  const spans = stepSpans(entry.steps);
  const chart = useRef<HTMLDivElement>(null);
  // Canvas colours come from the theme when drawn: draw again when the system switches light/dark.
  const dark = useMediaQuery('(prefers-color-scheme: dark)');

  useEffect(() => {
    const el = chart.current;
    if (!el || spans.length === 0 || !canDraw()) return;
    const css = getComputedStyle(el);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const total = Math.max(1, spans[spans.length - 1]!.end);
    const width = Math.max(240, el.clientWidth || 480);
    const plot = new uPlot(
      {
        width,
        height: 60 + spans.length * 28,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [0, total * 1.02] }, y: { range: [-0.6, spans.length - 0.4] } },
        axes: [
          { stroke: color('--text-muted'), grid: { stroke: color('--border') }, values: (_u, ticks) => ticks.map((t) => formatDuration(t)) },
          { stroke: color('--text-muted'), grid: { show: false }, size: 110, splits: () => spans.map((_, i) => spans.length - 1 - i), values: (_u, ticks) => ticks.map((t) => spans[spans.length - 1 - t]?.name ?? '') },
        ],
        series: [{}, { stroke: 'transparent', points: { show: false } }],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              ctx.save();
              spans.forEach((s, i) => {
                const lane = spans.length - 1 - i;
                const x0 = u.valToPos(s.start, 'x', true);
                const x1 = u.valToPos(Math.max(s.end, s.start + total * 0.004), 'x', true);
                const yc = u.valToPos(lane, 'y', true);
                const h = Math.abs(u.valToPos(0.35, 'y', true) - u.valToPos(-0.35, 'y', true));
                ctx.fillStyle = color(OUTCOME_VAR[s.outcome] ?? '--accent');
                ctx.fillRect(x0, yc - h / 2, Math.max(2, x1 - x0), h);
              });
              ctx.restore();
            },
          ],
        },
      },
      [[0, total], [null, null]],
      el,
    );
    return () => plot.destroy();
  }, [entry.id, spans.length, dark]); // spans derive from the entry

  return (
    <section className="panel" aria-labelledby="timeline-title" data-testid="timeline" data-entry={entry.id}>
      <h2 id="timeline-title">Switch {entry.id}: {entry.gpu}, {ownerLabel(entry.from)} → {ownerLabel(entry.to)}</h2>
      <p>
        <span className={`outcome outcome-${entry.outcome}`}>{entry.outcome}</span> in {formatDuration(entry.durationMs)}, started {formatTime(entry.startedAt)} by {entry.requestedBy}.
        {entry.outcome !== 'succeeded' && entry.outcome !== 'superseded' ? <> The GPU ended with {ownerLabel(entry.finalOwner)}.</> : null}
      </p>
      {entry.error ? <p className="finding-error">Reason: {entry.error}</p> : null}
      {entry.rolledBack.length > 0 ? <p>Rolled back: {entry.rolledBack.join(', ')}.</p> : null}
      {spans.length === 0 ? <p className="muted">No steps ran.</p> : (
        <>
          <div ref={chart} className="timeline" aria-hidden="true" />
          <table className="data">
            <caption className="visually-hidden">Steps of switch {entry.id}</caption>
            <thead><tr><th scope="col">Step</th><th scope="col">Outcome</th><th scope="col">Starts at</th><th scope="col">Took</th></tr></thead>
            <tbody>
              {spans.map((s, i) => (
                <tr key={i} data-step={s.name}>
                  <th scope="row">{s.name}</th>
                  <td className={`step-${s.outcome}`}>{s.outcome}{entry.steps[i]?.error ? `: ${entry.steps[i]!.error}` : ''}</td>
                  <td>+{formatDuration(s.start)}</td>
                  <td>{formatDuration(s.end - s.start)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** jsdom has no canvas; the table carries the figures there. */
function canDraw(): boolean {
  try {
    return typeof document !== 'undefined' && document.createElement('canvas').getContext('2d') !== null;
  } catch {
    return false;
  }
}
