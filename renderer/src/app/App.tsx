// The window: a top bar (name, the four views as tabs, the connection), a banner for a state that
// needs attention, and the chosen view. Views: Desk, VMs, History, Settings.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { DeskStore } from '../state/desk-store';
import { DeskStoreContext, useDesk } from '../state/use-desk';
import type { DeskClient } from '../../client/types';
import { DeskView } from '../features/desk/DeskView';
import { VmsView } from '../features/vms/VmsView';
import { HistoryView } from '../features/history/HistoryView';
import { SettingsView } from '../features/settings/SettingsView';
import { ConnectionBadge, ConnectionPanel } from './ConnectionState';

export const VIEWS = [
  { id: 'desk', label: 'Desk' },
  { id: 'vms', label: 'VMs' },
  { id: 'history', label: 'History' },
  { id: 'settings', label: 'Settings' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];

export function App({ client, initialView = 'desk' }: { client: DeskClient; initialView?: ViewId }) {
  const store = useMemo(() => new DeskStore(client), [client]);
  useEffect(() => store.attach(), [store]);
  return (
    <DeskStoreContext.Provider value={store}>
      <Shell initialView={initialView} />
    </DeskStoreContext.Provider>
  );
}

function Shell({ initialView }: { initialView: ViewId }) {
  const [view, setView] = useState<ViewId>(initialView);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const { connection, desk } = useDesk();

  // Alt+1..4 jump to a view from anywhere.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const i = Number(e.key) - 1;
      const target = VIEWS[i];
      if (target) {
        e.preventDefault();
        setView(target.id);
        tabs.current[i]?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const onTabKey = (e: KeyboardEvent<HTMLButtonElement>, index: number) => {
    const next = e.key === 'ArrowRight' ? index + 1 : e.key === 'ArrowLeft' ? index - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? VIEWS.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const i = (next + VIEWS.length) % VIEWS.length;
    setView(VIEWS[i]!.id);
    tabs.current[i]?.focus();
  };

  const ready = desk !== null;
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Baton</span>
        <nav aria-label="Views">
          <div role="tablist" aria-label="Views" className="tabs">
            {VIEWS.map((v, i) => (
              <button
                key={v.id}
                ref={(el) => { tabs.current[i] = el; }}
                role="tab"
                id={`tab-${v.id}`}
                aria-selected={view === v.id}
                aria-controls={view === v.id ? `view-${v.id}` : undefined}
                tabIndex={view === v.id ? 0 : -1}
                onClick={() => setView(v.id)}
                onKeyDown={(e) => onTabKey(e, i)}
                title={`${v.label} (Alt+${i + 1})`}
              >
                {v.label}
              </button>
            ))}
          </div>
        </nav>
        {desk?.helper.simulated ? <span className="muted" title="The helper serves a simulated workstation">simulated</span> : null}
        <ConnectionBadge state={connection} />
      </header>
      <StateBanner />
      <main className="view">
        <div id={`view-${view}`} role="tabpanel" aria-labelledby={`tab-${view}`}>
          {!ready ? <ConnectionPanel /> : view === 'desk' ? <DeskView /> : view === 'vms' ? <VmsView /> : view === 'history' ? <HistoryView /> : <SettingsView />}
        </div>
      </main>
    </div>
  );
}

/** A desk is on screen but the link broke: say so above it (the desk shown is the last one seen). */
function StateBanner() {
  const { connection, desk, snapshotError } = useDesk();
  if (desk === null) return null;
  if (connection.kind === 'connected') {
    if (snapshotError) return <div className="banner banner-fail" role="alert">Could not refresh the desk: {snapshotError}</div>;
    if (desk.disagreements.length > 0) {
      return (
        <div className="banner banner-warn" role="status">
          <strong>The helper&apos;s records and the machine disagree:</strong> {desk.disagreements.join(' ')}
        </div>
      );
    }
    return null;
  }
  const title = connection.kind === 'connecting' ? 'Reconnecting to the helper…' : connection.kind === 'helper-down' ? 'The helper is not reachable.' : connection.kind === 'not-allowed' ? 'The helper refused this page.' : 'Something went wrong.';
  const detail = 'message' in connection ? connection.message : null;
  return (
    <div className={`banner ${connection.kind === 'connecting' ? 'banner-warn' : 'banner-fail'}`} role="alert">
      <strong>{title}</strong>{detail ? <> <span className="mono">{detail}</span></> : null} The desk below is the last one seen; switching is off until the link is back.
    </div>
  );
}
