// How the link to the helper is shown: a small badge in the top bar, and a full panel while no desk
// has arrived yet (first contact, helper down, not allowed, error), each saying what to do.
import type { ConnectionState } from '../../client/types';
import { useDesk } from '../state/use-desk';

const LABEL: Record<ConnectionState['kind'], string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  'helper-down': 'Helper not running',
  'not-allowed': 'Not allowed',
  error: 'Error',
};

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  return (
    <span className={`conn conn-${state.kind}`} role="status" aria-live="polite" aria-label={`Connection: ${LABEL[state.kind]}`}>
      <span className="conn-dot" aria-hidden="true" />
      {LABEL[state.kind]}
    </span>
  );
}

export function ConnectionPanel() {
  const { connection, snapshotError } = useDesk();
  return (
    <section className="state-panel" aria-labelledby="state-title">
      {connection.kind === 'connecting' || (connection.kind === 'connected' && !snapshotError) ? (
        <>
          <h1 id="state-title">{connection.kind === 'connecting' && connection.attempt > 0 ? `Reconnecting to the helper (attempt ${connection.attempt})…` : 'Connecting to the helper…'}</h1>
          <p className="muted">Loading the desk: GPUs, monitors and VMs.</p>
        </>
      ) : connection.kind === 'helper-down' ? (
        <>
          <h1 id="state-title">The Baton helper is not running</h1>
          <p>{connection.message}</p>
          <p>Start it with <code>sudo systemctl start baton-helper.socket</code>, or try Baton with <code>baton helper --simulate</code>. This page reconnects by itself.</p>
        </>
      ) : connection.kind === 'not-allowed' ? (
        <>
          <h1 id="state-title">Not allowed to talk to the helper</h1>
          <p>{connection.message}</p>
          <p>Join the <code>baton</code> group (<code>sudo usermod -aG baton $USER</code>) and log in again, or open the exact URL <code>baton ui</code> printed (it carries the token).</p>
        </>
      ) : (
        <>
          <h1 id="state-title">Something went wrong</h1>
          <p>{connection.kind === 'error' ? connection.message : snapshotError}</p>
        </>
      )}
    </section>
  );
}
