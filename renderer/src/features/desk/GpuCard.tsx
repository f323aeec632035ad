// One GPU: what it is, who has it, its monitors, where it can go (buttons), the switch under way
// step by step, and how the last switch ended (a failure with its step, reason, rollback and where
// the GPU is now).
import { memo } from 'react';
import type { DeskGpu, DeskMonitor } from '../../../client/types';
import { formatAgo, formatDuration, formatMode, ownerLabel } from '../../lib/format';
import { ownerColorVar } from '../../lib/owner-colors';
import { useDeskSelector, useDeskStore } from '../../state/use-desk';

/** Memoized: a snapshot that leaves this GPU, the monitors and the VMs as they were does not re-render it. */
export const GpuCard = memo(function GpuCard({ gpu, allMonitors, vmNames, now }: { gpu: DeskGpu; allMonitors: DeskMonitor[]; vmNames: string[]; now: number }) {
  const store = useDeskStore();
  const connection = useDeskSelector((s) => s.connection);
  const request = useDeskSelector((s) => s.requests[gpu.name]);
  const monitors = gpu.monitors.map((c) => allMonitors.find((m) => m.connector === c)).filter((m): m is DeskMonitor => m !== undefined);
  const connected = connection.kind === 'connected';
  const headingId = `gpu-${gpu.name}-title`;

  return (
    <article className="card gpu-card" aria-labelledby={headingId} data-gpu={gpu.name} data-owner={gpu.owner} aria-busy={gpu.busy}>
      <header>
        <h2 id={headingId}>{gpu.name}</h2>
        <span className="owner-chip" style={{ background: `var(${ownerColorVar(gpu.owner, vmNames)})` }} data-testid="owner">
          <span className="visually-hidden">Owner: </span>{ownerLabel(gpu.owner)}
        </span>
        {gpu.busy ? <span className="muted">switching…</span> : null}
      </header>
      <dl className="kv">
        <dt>Card</dt><dd>{gpu.deviceName ?? (gpu.device ? <>PCI device <span className="mono">{gpu.vendor ?? '?'}:{gpu.device}</span></> : 'unknown')}{gpu.vendorName ? ` (${gpu.vendorName})` : ''}</dd>
        <dt>Address</dt><dd className="mono">{gpu.address ?? `not found (${gpu.match})`}</dd>
        <dt>IOMMU group</dt><dd>{gpu.iommuGroup ?? '—'}</dd>
        <dt>Reset</dt><dd>{gpu.reset}{gpu.kernelResetMethods.length ? ` (kernel offers ${gpu.kernelResetMethods.join(', ')})` : ''}</dd>
        <dt>Functions</dt>
        <dd>
          {gpu.functions.map((f) => (
            <div key={f.address}><span className="mono">{f.address}</span> {f.className ?? f.class ?? ''} — {f.driver ?? 'no driver'}</div>
          ))}
        </dd>
      </dl>
      {gpu.problems.length > 0 ? <ul className="finding-warning">{gpu.problems.map((p) => <li key={p}>{p}</li>)}</ul> : null}
      <h3>Monitors</h3>
      {monitors.length === 0 ? <p className="muted">No monitors known on this GPU.</p> : (
        <ul className="monitors-list">
          {monitors.map((m) => (
            <li key={m.connector} data-connector={m.connector}>
              <strong>{m.label ?? m.edidName ?? m.connector}</strong>{' '}
              <span className="muted">{m.edidName && m.label ? `${m.edidName}, ` : ''}{m.connector}, {formatMode(m.preferredMode)}{m.serial ? `, serial ${m.serial}` : ''}</span>
              {' '}— shows {ownerLabel(m.shows ?? 'park')}
              {m.presence === 'remembered' ? <span className="muted"> (last seen {formatAgo(m.lastSeenAt ?? undefined, now)})</span> : null}
              {m.presence === 'configured' ? <span className="muted"> (named in the config, never seen)</span> : null}
            </li>
          ))}
        </ul>
      )}
      <h3 id={`${headingId}-targets`}>Move to</h3>
      <div className="targets" role="group" aria-labelledby={`${headingId}-targets`}>
        {gpu.targets.map((t) => {
          const here = t === gpu.owner;
          return (
            <button
              key={t}
              type="button"
              className={here ? '' : 'primary'}
              aria-pressed={here}
              disabled={here || gpu.busy || !connected || request !== undefined && request.error === undefined || !gpu.present}
              onClick={() => void store.switchGpu(gpu.name, t)}
              aria-label={here ? `${gpu.name} is with ${ownerLabel(t)}` : `Move ${gpu.name} to ${ownerLabel(t)}`}
              data-target={t}
            >
              {ownerLabel(t)}
            </button>
          );
        })}
      </div>
      {request?.error ? (
        <div className="failure" role="alert">
          The switch to {ownerLabel(request.target)} was refused: {request.error}{' '}
          <button type="button" onClick={() => store.dismissRequestError(gpu.name)}>Dismiss</button>
        </div>
      ) : null}
      <SwitchProgress gpu={gpu} requested={request && !request.error ? request.target : undefined} />
      {!gpu.current ? <LastOutcome gpu={gpu} /> : null}
    </article>
  );
});

function SwitchProgress({ gpu, requested }: { gpu: DeskGpu; requested: string | undefined }) {
  const current = gpu.current;
  if (!current) {
    return requested ? <div className="progress" role="status" aria-live="polite">Asking the helper to move {gpu.name} to {ownerLabel(requested)}…</div> : null;
  }
  return (
    <div className="progress" role="status" aria-live="polite" data-testid="progress">
      <strong>Moving from {ownerLabel(current.from)} to {ownerLabel(current.to)}</strong> <span className="muted">(asked by {current.requestedBy})</span>
      <ol className="steps" aria-label="Steps">
        {current.steps.map((s, i) => (
          <li key={`${s.name}-${i}`} className={`step-${s.outcome}`} data-step={s.name} data-outcome={s.outcome}>
            <span aria-hidden="true">{s.outcome === 'ok' ? '✓' : s.outcome === 'failed' ? '✗' : '–'}</span> {s.name} <span className="muted">{s.outcome} · {formatDuration(s.ms)}</span>
            {s.error ? <span> — {s.error}</span> : null}
          </li>
        ))}
        {current.step ? (
          <li className="step-running" data-step={current.step.name} data-outcome="running">
            <span aria-hidden="true">▶</span> {current.step.name} <span>running: {current.step.detail}</span>
          </li>
        ) : null}
      </ol>
    </div>
  );
}

function LastOutcome({ gpu }: { gpu: DeskGpu }) {
  const last = gpu.last;
  if (!last) return null;
  if (last.outcome === 'succeeded') {
    return <div className="success" data-testid="last-outcome" data-outcome="succeeded">Last switch: {ownerLabel(last.from)} → {ownerLabel(last.to)} in {formatDuration(last.durationMs)}.</div>;
  }
  if (last.outcome === 'superseded') {
    return <div className="muted" data-testid="last-outcome" data-outcome="superseded">Last request ({ownerLabel(last.to)}) was replaced by a newer one before it ran.</div>;
  }
  const titleId = `gpu-${gpu.name}-failure`;
  return (
    <section className="failure" role="alert" aria-labelledby={titleId} data-testid="last-outcome" data-outcome={last.outcome}>
      <strong id={titleId}>The switch {ownerLabel(last.from)} → {ownerLabel(last.to)} {last.outcome === 'rolled-back' ? 'failed and was rolled back' : last.outcome === 'parked' ? 'failed; the GPU is parked' : 'failed'}</strong>
      <dl className="kv">
        <dt>Failed step</dt><dd data-testid="failed-step">{last.failedStep ?? 'none recorded'}</dd>
        <dt>Reason</dt><dd data-testid="failure-reason">{last.error ?? 'no reason given'}</dd>
        <dt>Rolled back</dt><dd data-testid="rolled-back">{last.rolledBack.length ? last.rolledBack.join(', ') : 'nothing'}</dd>
        <dt>GPU now with</dt><dd data-testid="final-owner">{ownerLabel(last.finalOwner)}</dd>
      </dl>
    </section>
  );
}
