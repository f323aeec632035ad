import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { planSwitch, stepNames, type PlanVm } from '../../../app/domain/switch/plan.js';

const gpu = { name: 'gpu-a', address: '0000:01:00.0' as PciAddress, functions: ['0000:01:00.0', '0000:01:00.1'] as PciAddress[], reset: 'auto' as const, policy: { movablePeers: [], allowBootVga: false, loadVfioModule: true } };
const vm = (name: string, release: PlanVm['release']['method'], acquire: PlanVm['acquire']): PlanVm => ({ name, release: { method: release, timeoutSeconds: 20 }, acquire });
const vms = new Map([
  ['a', vm('a', 'hot-unplug', 'hot-plug')],
  ['b', vm('b', 'hot-unplug', 'hot-plug')],
  ['cold', vm('cold', 'shutdown', 'start')],
  ['xen', vm('xen', 'force-detach', 'hot-plug')],
]);

describe('switch planning', () => {
  it.each([
    ['a', 'b', ['release', 'reset', 'vbios', 'attach', 'verify']],
    ['host', 'a', ['claim', 'reset', 'vbios', 'attach', 'verify']],
    ['a', 'host', ['release', 'return-to-host', 'verify']],
    ['park', 'host', ['return-to-host', 'verify']],
    ['host', 'park', ['claim', 'verify']],
    ['a', 'park', ['release', 'verify']],
    ['park', 'cold', ['reset', 'vbios', 'attach', 'verify']],
  ])('%s → %s', (from, to, steps) => {
    expect(stepNames(planSwitch(gpu, from, to, vms))).toEqual(steps);
  });

  it('takes each VM strategy from its config', () => {
    const cold = planSwitch(gpu, 'cold', 'b', vms).steps;
    expect(cold[0]).toEqual({ name: 'release', vm: 'cold', how: 'shutdown', deadlineMs: 20_000 });
    expect(planSwitch(gpu, 'xen', 'cold', vms).steps.at(-2)).toEqual({ name: 'attach', vm: 'cold', how: 'start' });
    expect(planSwitch(gpu, 'xen', 'a', vms).steps[0]).toMatchObject({ how: 'force-detach' });
  });

  it('plans nothing for a GPU already there, and refuses an unknown VM', () => {
    expect(planSwitch(gpu, 'a', 'a', vms).steps).toEqual([]);
    expect(() => planSwitch(gpu, 'host', 'nowhere', vms)).toThrow(/nowhere is not in the configuration/);
  });
});

describe('plan: inputs that follow the GPU (issue 12)', () => {
  const vms = new Map([
    ['a', { name: 'a', release: { method: 'hot-unplug' as const, timeoutSeconds: 10 }, acquire: 'hot-plug' as const }],
    ['b', { name: 'b', release: { method: 'hot-unplug' as const, timeoutSeconds: 10 }, acquire: 'hot-plug' as const }],
  ]);
  const gpu = { name: 'g', address: '0000:01:00.0' as PciAddress, functions: ['0000:01:00.0' as PciAddress], reset: 'auto' as const, policy: { movablePeers: [], allowBootVga: false, loadVfioModule: false }, inputs: ['kbd'] };
  const names = (from: string, to: string) => planSwitch(gpu, from, to, vms).steps.map((s) => (s.name === 'move-input' ? `move-input ${s.from ?? 'host'}→${s.to ?? 'host'}` : s.name));

  it('into a VM last (after the attach), back to the host first, handed over VM to VM after the attach', () => {
    expect(names('host', 'a')).toEqual(['claim', 'reset', 'vbios', 'attach', 'move-input host→a', 'verify']);
    expect(names('a', 'host')).toEqual(['move-input a→host', 'release', 'return-to-host', 'verify']);
    expect(names('a', 'park')).toEqual(['move-input a→host', 'release', 'verify']);
    expect(names('a', 'b')).toEqual(['release', 'reset', 'vbios', 'attach', 'move-input a→b', 'verify']);
    expect(names('park', 'host')).toEqual(['return-to-host', 'verify']);
  });

  it('a GPU without inputs plans none', () => {
    expect(planSwitch({ ...gpu, inputs: [] }, 'host', 'a', vms).steps.map((s) => s.name)).not.toContain('move-input');
  });
});
