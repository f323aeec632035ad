// A helper process for the benchmarks: the real daemon (startHelper, as `baton helper --simulate`
// runs it) over the simulated workstation at speed 0, so a switch costs Baton's own work only.
//   node dist/bench/lib/sim-helper-main.js --state DIR [--shape GPUS,VMS]
// Without --shape: the standard simulated workstation; with it, the load machine (load-machine.ts).
// Prints "listening <socket>" on stdout once it accepts connections; ends on SIGTERM.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatConfigError, parseConfig, type BatonConfig } from '../../app/domain/config/index.js';
import { startHelper } from '../../app/cli/commands/helper.js';
import { helperStores } from '../../app/helper/compose.js';
import { HelperService } from '../../app/helper/engine/service.js';
import { createSimulatedWorkstation, SimulatedHost, SimulatedVmBackend, simulatedConfig, Workstation } from '../../app/helper/simulate/index.js';
import { mergeLatencies } from '../../app/helper/simulate/timing.js';
import type { BackendFor } from '../../app/domain/switch/ports.js';
import type { Hypervisor } from '../../app/domain/vm/errors.js';
import { loadConfigYaml, loadMachine } from './load-machine.js';

const { values } = parseArgs({ options: { state: { type: 'string' }, shape: { type: 'string' } } });
const stateDir = values.state ?? '/tmp/baton-bench-helper';
mkdirSync(stateDir, { recursive: true });

function ports(config: BatonConfig): { host: SimulatedHost; backendFor: BackendFor } {
  if (!values.shape) {
    const sim = createSimulatedWorkstation({ speed: 0, stateDir });
    return { host: sim.host, backendFor: sim.backendFor };
  }
  const [gpus, vms] = values.shape.split(',').map(Number) as [number, number];
  const ws = new Workstation(loadMachine({ gpus, vms }), mergeLatencies(), 0);
  const backends: Record<Hypervisor, SimulatedVmBackend> = { qmp: new SimulatedVmBackend(ws, 'qmp'), libvirt: new SimulatedVmBackend(ws, 'libvirt'), xen: new SimulatedVmBackend(ws, 'xen') };
  return { host: new SimulatedHost(ws, { vbiosStore: config.helper.vbiosStore }), backendFor: (vm) => backends[ws.hasVm(vm) ? ws.vm(vm).spec.hypervisor : 'qmp'] };
}

function config(): BatonConfig {
  if (!values.shape) return simulatedConfig({ stateDir });
  const [gpus, vms] = values.shape.split(',').map(Number) as [number, number];
  const r = parseConfig(loadConfigYaml({ gpus, vms }, stateDir), 'load.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

const daemon = await startHelper({ simulate: true }, {
  real: () => Promise.reject(new Error('bench helper: simulation only')),
  simulated: async (c) => {
    const { host, backendFor } = ports(c);
    const service = new HelperService({ config: c, host, backendFor, ...helperStores(c) });
    await service.recover();
    await service.reconcile();
    return service;
  },
  simulatedConfig: config,
}, (line) => process.stderr.write(`bench-helper: ${line}\n`));
process.stdout.write(`listening ${daemon.socketPath}\n`);
process.once('SIGTERM', () => void daemon.close().then(() => process.exit(0)));
