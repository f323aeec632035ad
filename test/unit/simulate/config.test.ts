// The simulated workstation comes with a config the real parser accepts and that names what the
// simulation has: its GPUs, VMs (with their backends) and monitors.
import { expect, it } from 'vitest';
import { parseConfig } from '../../../app/domain/config/index.js';
import { simulatedConfigYaml } from '../../../app/helper/simulate/index.js';
import { simulate } from './fixture.js';

it('the YAML parses as a valid baton.yaml', () => {
  const result = parseConfig(simulatedConfigYaml({ stateDir: '/tmp/baton-sim' }), 'sim.yaml');
  expect(result.ok ? [] : result.errors).toEqual([]);
});

it('names the simulated GPUs, VMs and monitors, and puts the helper\'s files in the state folder', async () => {
  const sim = simulate({ stateDir: '/tmp/baton-sim' });
  const inventory = await sim.host.inventory();
  for (const gpu of sim.config.gpus) {
    const address = gpu.match.by === 'address' ? gpu.match.address : null;
    const found = inventory.gpus.find((g) => g.address === address);
    expect(found?.assignable, gpu.name).toBe(true);
    expect(found?.monitors.map((m) => m.connector)).toEqual(gpu.monitors);
  }
  expect(sim.config.vms.map((vm) => [vm.name, vm.backend])).toEqual(sim.workstation.vmNames().map((name) => [name, sim.workstation.vm(name).spec.hypervisor]));
  expect(sim.config.helper.socket).toBe('/tmp/baton-sim/helper.sock');
});

it('backendFor gives each VM the backend of its hypervisor', () => {
  const sim = simulate();
  expect(sim.config.vms.map((vm) => sim.backendFor(vm.name).hypervisor)).toEqual(['qmp', 'libvirt', 'xen']);
});

it('refuses options naming a VM the simulation does not have', () => {
  expect(() => simulate({ vms: { win10: { state: 'running' } } })).toThrow(/no simulated VM named win10/);
});
