// Only in the tray app (Electron's preload adds `desktop` to window.batonDesk): how the global
// shortcuts fared (registered, failed, conflict; on Wayland what the portal is known to do) and
// whether a system tray can show Baton.
import { useEffect, useState } from 'react';
import type { ShortcutReport, TrayHostReport } from '../../../../app/protocol/ipc-schema';

export interface DesktopBridge {
  shortcuts(): Promise<ShortcutReport>;
  onShortcuts(listener: (report: ShortcutReport) => void): () => void;
  trayHost(): Promise<TrayHostReport>;
}

export function desktopBridge(): DesktopBridge | null {
  const bridge = (window.batonDesk as { desktop?: DesktopBridge } | undefined)?.desktop;
  return bridge ?? null;
}

export function DesktopPanel({ bridge }: { bridge: DesktopBridge }) {
  const [report, setReport] = useState<ShortcutReport | null>(null);
  const [tray, setTray] = useState<TrayHostReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const fail = (e: unknown) => setError(e instanceof Error ? e.message : String(e));
    bridge.shortcuts().then(setReport, fail);
    bridge.trayHost().then(setTray, fail);
    return bridge.onShortcuts(setReport);
  }, [bridge]);
  return (
    <section className="panel" aria-labelledby="desktop-title">
      <h2 id="desktop-title">This desktop</h2>
      {error ? <p className="finding-error">{error}</p> : null}
      {tray ? <p>{tray.available === true ? 'The system tray shows Baton.' : tray.advice ?? 'No system tray found: Baton stays a window.'}</p> : null}
      {report ? (
        <>
          <p className="muted">Session: {report.session}{report.viaPortal ? ', shortcuts through the desktop portal (it may refuse a bind it reports as done)' : ''}.</p>
          <table className="data">
            <thead><tr><th scope="col">Keys</th><th scope="col">Status</th><th scope="col">Notes</th></tr></thead>
            <tbody>
              {report.shortcuts.map((s) => (
                <tr key={`${s.keys}-${s.target}`}>
                  <td><code>{s.keys}</code></td>
                  <td className={s.status === 'registered' ? 'step-ok' : 'finding-error'}>{s.status}</td>
                  <td>{s.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
