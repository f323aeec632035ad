// The VMs: state, backend, the GPUs and functions each holds, and how it lets a GPU go and takes one.
import { useDesk } from '../../state/use-desk';
import { ownerColorVar } from '../../lib/owner-colors';

const RELEASE: Record<string, string> = {
  'hot-unplug': 'hot-unplug (the guest is asked to let go)',
  shutdown: 'shut the VM down',
  'force-detach': 'force-detach (no guest cooperation)',
};
const ACQUIRE: Record<string, string> = { 'hot-plug': 'hot-plug into the running VM', start: 'start the VM with the GPU' };

export function VmsView() {
  const { desk } = useDesk();
  if (!desk) return null;
  const names = desk.vms.map((v) => v.name);
  return (
    <section aria-labelledby="vms-title">
      <h1 id="vms-title">VMs</h1>
      {desk.vms.length === 0 ? <p>The config names no VM.</p> : (
        <table className="data">
          <caption className="visually-hidden">Every configured VM with its state, backend, held devices and strategies</caption>
          <thead>
            <tr><th scope="col">VM</th><th scope="col">State</th><th scope="col">Backend</th><th scope="col">Holds</th><th scope="col">Releases a GPU by</th><th scope="col">Takes a GPU by</th></tr>
          </thead>
          <tbody>
            {desk.vms.map((vm) => (
              <tr key={vm.name} data-vm={vm.name}>
                <th scope="row"><span className="swatch" style={{ background: `var(${ownerColorVar(vm.name, names)})` }} aria-hidden="true" /> {vm.name}</th>
                <td>{vm.state}{vm.raw && vm.raw !== vm.state ? <span className="muted"> ({vm.raw})</span> : null}</td>
                <td>{vm.backend}</td>
                <td>
                  {vm.gpus.length === 0 ? <span className="muted">nothing</span> : vm.gpus.join(', ')}
                  {vm.devices.length > 0 ? <div className="mono muted">{vm.devices.join(' ')}</div> : null}
                </td>
                <td>{RELEASE[vm.release.method] ?? vm.release.method}, up to {vm.release.timeoutSeconds} s</td>
                <td>{ACQUIRE[vm.acquire] ?? vm.acquire}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
