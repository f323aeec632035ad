// The desk seen from the chair: every monitor drawn at its preferred mode's aspect ratio, grouped
// under the GPU it hangs on, filled with the colour of the VM (or host) whose picture it shows.
import { memo, useMemo } from 'react';
import type { DeskSnapshot } from '../../../client/types';

type PictureProps = Pick<DeskSnapshot, 'gpus' | 'monitors' | 'vms'>;
import { layoutDesk } from '../../lib/desk-geometry';
import { formatMode, ownerLabel } from '../../lib/format';
import { ownerColorVar } from '../../lib/owner-colors';

export const DeskPicture = memo(function DeskPicture(desk: PictureProps) {
  const vmNames = useMemo(() => desk.vms.map((v) => v.name), [desk.vms]);
  const layout = useMemo(
    () => layoutDesk(
      desk.monitors.filter((m) => m.gpu !== null).map((m) => ({ id: m.connector, gpu: m.gpu!, width: m.preferredMode?.width, height: m.preferredMode?.height })),
      desk.gpus.map((g) => g.name),
    ),
    [desk.monitors, desk.gpus],
  );
  const byConnector = new Map(desk.monitors.map((m) => [m.connector, m]));
  const owners = [...new Set(desk.monitors.map((m) => m.shows ?? 'park'))];
  const summary = desk.monitors.length === 0
    ? 'No monitors are known.'
    : desk.monitors.map((m) => `${m.label ?? m.edidName ?? m.connector} on ${m.gpu ?? 'no configured GPU'} shows ${ownerLabel(m.shows ?? 'park')}`).join('; ');

  return (
    <figure className="desk-picture" aria-labelledby="desk-picture-caption">
      <svg viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label={`The desk: ${summary}`} data-testid="desk-picture">
        {layout.gpus.map((span) => (
          <text key={span.gpu} x={span.x + span.w / 2} y={layout.height - 12} textAnchor="middle" className="gpu-label" style={{ fill: 'var(--text-muted)', font: '12px var(--font)' }}>
            {span.gpu}
          </text>
        ))}
        {layout.monitors.map((r) => {
          const m = byConnector.get(r.id)!;
          const shows = m.shows ?? 'park';
          const name = m.label ?? m.edidName ?? m.connector;
          return (
            <g key={r.id} data-connector={m.connector} data-shows={shows}>
              <rect
                x={r.x} y={r.y} width={r.w} height={r.h} rx={4}
                style={{ fill: `var(${ownerColorVar(shows, vmNames)})`, stroke: 'var(--border)', strokeWidth: 2, strokeDasharray: m.presence === 'now' ? undefined : '6 4' }}
              />
              <text x={r.x + r.w / 2} y={r.y + r.h / 2 - 6} textAnchor="middle" className="monitor-label">{fitLabel(name, Math.floor((r.w - 12) / 8.5))}</text>
              <text x={r.x + r.w / 2} y={r.y + r.h / 2 + 12} textAnchor="middle" className="monitor-sub">{truncate(ownerLabel(shows), Math.floor(r.w / 7))}</text>
              <title>{`${name} (${m.connector}, ${formatMode(m.preferredMode)}) shows ${ownerLabel(shows)}${m.presence === 'remembered' ? ', as last seen' : ''}`}</title>
            </g>
          );
        })}
      </svg>
      <figcaption id="desk-picture-caption" className="visually-hidden">The desk picture: each monitor drawn at its aspect ratio, coloured by the VM it shows.</figcaption>
      <ul className="legend" aria-label="Colours">
        {owners.map((o) => (
          <li key={o}><span className="swatch" style={{ background: `var(${ownerColorVar(o, vmNames)})` }} aria-hidden="true" />{ownerLabel(o)}</li>
        ))}
        {desk.monitors.some((m) => m.presence !== 'now') ? <li><span className="swatch swatch-dashed" aria-hidden="true" />dashed: as last seen (the GPU is away from the host)</li> : null}
      </ul>
    </figure>
  );
});

/** The name as it fits: whole, else without its parenthetical ("Left (QEMU Monitor …)" → "Left"), else cut. */
export function fitLabel(text: string, max: number): string {
  if (text.length <= max) return text;
  const short = text.split(' (')[0]!;
  return truncate(short, max);
}

function truncate(text: string, max: number): string {
  if (max < 4) return '';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
