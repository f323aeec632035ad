// The config as the helper sees it: the file, its shortcuts, its findings (file:line:col), and the
// effective config with defaults filled in.
import { useDesk } from '../../state/use-desk';
import { ownerLabel } from '../../lib/format';
import type { DeskFinding } from '../../../client/types';
import { findingPlace } from './finding-place';
import { DesktopPanel, desktopBridge } from './DesktopPanel';

export function SettingsView() {
  const { desk } = useDesk();
  if (!desk) return null;
  const { config } = desk;
  const desktop = desktopBridge();
  return (
    <div>
      <h1>Settings</h1>
      <section className="panel" aria-labelledby="cfg-file">
        <h2 id="cfg-file">Config file</h2>
        <p>{config.file ? <code>{config.file}</code> : <span>The simulated workstation&apos;s built-in config.</span>} <span className="muted">Helper {desk.helper.version}{desk.helper.simulated ? ', simulated' : ''}.</span></p>
      </section>
      <section className="panel" aria-labelledby="cfg-shortcuts">
        <h2 id="cfg-shortcuts">Shortcuts</h2>
        {config.shortcuts.length === 0 ? <p className="muted">No shortcuts configured.</p> : (
          <table className="data">
            <thead><tr><th scope="col">Keys</th><th scope="col">GPU</th><th scope="col">Moves it to</th></tr></thead>
            <tbody>
              {config.shortcuts.map((s) => (
                <tr key={`${s.keys}-${s.gpu}-${s.target}`}>
                  <td>{s.keys.split('+').map((k, i) => <span key={i}>{i > 0 ? '+' : ''}<kbd>{k}</kbd></span>)}</td>
                  <td>{s.gpu ?? <span className="finding-error">no such GPU</span>}</td>
                  <td>{ownerLabel(s.target)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {desktop ? <DesktopPanel bridge={desktop} /> : null}
      <section className="panel" aria-labelledby="cfg-findings">
        <h2 id="cfg-findings">Findings</h2>
        {config.findings.length === 0 ? <p>No findings: the config is valid and matches the machine.</p> : (
          <ul className="findings">
            {config.findings.map((f, i) => <Finding key={i} finding={f} />)}
          </ul>
        )}
      </section>
      <section className="panel" aria-labelledby="cfg-effective">
        <h2 id="cfg-effective">The config as the helper uses it</h2>
        <pre className="config" tabIndex={0} role="region" aria-label="Effective config (JSON)">{JSON.stringify(config.effective, null, 2)}</pre>
      </section>
    </div>
  );
}

function Finding({ finding }: { finding: DeskFinding }) {
  const place = findingPlace(finding);
  return (
    <li className={`finding-${finding.severity}`} data-severity={finding.severity}>
      <strong>{finding.severity}</strong>{place ? <> <code>{place}</code></> : null}{finding.path ? <> <code>{finding.path}</code></> : null}: {finding.message}
    </li>
  );
}
