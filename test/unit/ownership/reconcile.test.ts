// reconcileOwnership: each way the registry and the machine can disagree gives its own disagreement,
// and the reconciled owner follows the documented rule.
import { describe, expect, it } from 'vitest';
import { reconcileOwnership, type ObservedVm, type ReconcileInput } from '../../../app/domain/ownership/reconcile.js';
import type { OwnershipRecord } from '../../../app/domain/ownership/registry.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';

const VGA = '0000:01:00.0' as PciAddress;
const AUDIO = '0000:01:00.1' as PciAddress;
const RTX = { name: 'rtx', functions: [VGA, AUDIO] };
const EARLIER = '2025-03-01T10:00:00.000Z';
const NOW = '2025-03-02T12:00:00.000Z';

const record = (owner: string, extra: Partial<OwnershipRecord> = {}): OwnershipRecord => ({
  owner,
  functions: [VGA, AUDIO],
  since: EARLIER,
  ...(owner !== 'host' && owner !== 'park' && { state: 'active' as const }),
  ...extra,
});
const running = (name: string, devices: PciAddress[] | null = []): ObservedVm => ({ name, state: 'running', devices });
const shutOff = (name: string): ObservedVm => ({ name, state: 'shut-off', devices: [] });

function reconcile(registryOwner: OwnershipRecord | undefined, drivers: [PciAddress, string | null][], vms: ObservedVm[]) {
  const input: ReconcileInput = {
    registry: { version: 1, gpus: registryOwner ? { rtx: registryOwner } : {} },
    gpus: [RTX],
    drivers: new Map(drivers),
    vms,
    now: NOW,
  };
  const result = reconcileOwnership(input);
  return { ...result, gpu: result.gpus[0]!, kinds: result.disagreements.map((d) => d.kind) };
}

const onVfio: [PciAddress, string][] = [[VGA, 'vfio-pci'], [AUDIO, 'vfio-pci']];
const onHost: [PciAddress, string][] = [[VGA, 'nvidia'], [AUDIO, 'snd_hda_intel']];

describe('agreement', () => {
  it('a running VM holding the GPU it is registered with: no disagreement, since kept', () => {
    const r = reconcile(record('win11'), onVfio, [running('win11', [VGA, AUDIO])]);
    expect(r.disagreements).toEqual([]);
    expect(r.gpu).toMatchObject({ owner: 'win11', state: 'active', since: EARLIER, basis: 'observed', changed: false });
  });

  it('a shut-off VM with its GPU parked on vfio-pci keeps it, inactive', () => {
    const r = reconcile(record('win11'), onVfio, [shutOff('win11')]);
    expect(r.disagreements).toEqual([]);
    expect(r.gpu).toMatchObject({ owner: 'win11', state: 'inactive', changed: false });
  });

  it('host drivers with the registry saying host; a function without a driver decides nothing', () => {
    const r = reconcile(record('host'), [[VGA, 'amdgpu'], [AUDIO, null]], []);
    expect(r.disagreements).toEqual([]);
    expect(r.gpu).toMatchObject({ owner: 'host', basis: 'observed' });
    expect(r.gpu.state).toBeUndefined();
  });

  it('a GPU with no record takes what the machine shows, silently', () => {
    const r = reconcile(undefined, onVfio, []);
    expect(r.disagreements).toEqual([]);
    expect(r.gpu).toMatchObject({ owner: 'park', since: NOW, changed: false });
    expect(r.registry.gpus.rtx).toEqual({ owner: 'park', functions: [VGA, AUDIO], since: NOW });
  });
});

describe('reality wins when it is unambiguous', () => {
  it('registry says vm-a, but vm-a runs without it: parked', () => {
    const r = reconcile(record('vm-a'), onVfio, [running('vm-a', [])]);
    expect(r.kinds).toEqual(['vm-does-not-hold']);
    expect(r.disagreements[0]!.message).toBe(
      'The registry says GPU rtx belongs to VM vm-a, but vm-a is running and does not hold it; its functions are on vfio-pci, so Baton now counts GPU rtx as parked. Move it to vm-a to use it.',
    );
    expect(r.gpu).toMatchObject({ owner: 'park', since: NOW, changed: true, basis: 'observed' });
  });

  it('registry says vm-a, but the GPU is on host drivers: the host has it', () => {
    const r = reconcile(record('vm-a'), onHost, [shutOff('vm-a')]);
    expect(r.kinds).toEqual(['vm-does-not-hold']);
    expect(r.disagreements[0]!.message).toContain('vm-a (shut-off) does not hold it and its functions are on host drivers (0000:01:00.0: nvidia, 0000:01:00.1: snd_hda_intel)');
    expect(r.gpu).toMatchObject({ owner: 'host', changed: true });
  });

  it('vm-b holds functions of the GPU but the registry says host', () => {
    const r = reconcile(record('host'), onVfio, [running('vm-a'), running('vm-b', [VGA, AUDIO])]);
    expect(r.kinds).toEqual(['vm-holds-unrecorded']);
    expect(r.disagreements[0]!.message).toBe('VM vm-b holds GPU rtx (0000:01:00.0, 0000:01:00.1) but the registry says the host; Baton now counts vm-b as the owner.');
    expect(r.gpu).toMatchObject({ owner: 'vm-b', state: 'active', changed: true });
  });

  it('a function on a host driver while the registry says park', () => {
    const r = reconcile(record('park'), [[VGA, 'amdgpu'], [AUDIO, null]], []);
    expect(r.kinds).toEqual(['host-driver-while-parked']);
    expect(r.disagreements[0]!.message).toBe(
      "The registry says GPU rtx is parked, but 0000:01:00.0 is on the host driver amdgpu; Baton now counts GPU rtx as the host's. Park it again to put it back on vfio-pci.",
    );
    expect(r.gpu.owner).toBe('host');
  });

  it('functions on vfio-pci while the registry says host', () => {
    const r = reconcile(record('host'), onVfio, []);
    expect(r.kinds).toEqual(['vfio-while-host']);
    expect(r.gpu.owner).toBe('park');
  });

  it('a VM that holds only part of the GPU still owns it, and the split is named', () => {
    const r = reconcile(record('vm-a'), [[VGA, 'vfio-pci'], [AUDIO, 'snd_hda_intel']], [running('vm-a', [VGA])]);
    expect(r.kinds).toEqual(['partial-hold']);
    expect(r.disagreements[0]!.message).toContain('not 0000:01:00.1: snd_hda_intel');
    expect(r.gpu).toMatchObject({ owner: 'vm-a', changed: false });
  });

  it('the registry names a VM the config does not have', () => {
    const r = reconcile(record('old-vm'), onVfio, [running('vm-a')]);
    expect(r.kinds).toEqual(['unknown-vm']);
    expect(r.disagreements[0]!.message).toContain('old-vm is not a configured VM');
    expect(r.gpu.owner).toBe('park');
  });
});

describe('ambiguous: the registry stands and the conflict is reported', () => {
  it('two VMs hold functions of one GPU', () => {
    const r = reconcile(record('vm-a'), onVfio, [running('vm-a', [VGA]), running('vm-b', [AUDIO])]);
    expect(r.kinds).toEqual(['several-vms']);
    expect(r.disagreements[0]!.message).toBe(
      "GPU rtx is held by several VMs at once: vm-a (0000:01:00.0); vm-b (0000:01:00.1); remove it from all but one of them. Keeping the registry's owner, VM vm-a.",
    );
    expect(r.gpu).toMatchObject({ owner: 'vm-a', basis: 'registry', changed: false });
  });

  it('functions split between host drivers and vfio-pci', () => {
    const r = reconcile(record('host'), [[VGA, 'vfio-pci'], [AUDIO, 'snd_hda_intel']], []);
    expect(r.kinds).toEqual(['split-drivers']);
    expect(r.disagreements[0]!.message).toContain('host drivers (0000:01:00.1: snd_hda_intel) and vfio-pci (0000:01:00.0: vfio-pci)');
    expect(r.gpu).toMatchObject({ owner: 'host', basis: 'registry' });
  });

  it('the registered VM runs but its backend cannot be asked', () => {
    const r = reconcile(record('vm-a'), onVfio, [running('vm-a', null)]);
    expect(r.kinds).toEqual(['vm-unreachable']);
    expect(r.gpu).toMatchObject({ owner: 'vm-a', state: 'active', basis: 'registry' });
  });

  it('the registered VM is in an unknown state', () => {
    const r = reconcile(record('vm-a'), onVfio, [{ name: 'vm-a', state: 'unknown', devices: null }]);
    expect(r.kinds).toEqual(['vm-unreachable']);
    expect(r.disagreements[0]!.message).toContain('VM vm-a (unknown)');
    expect(r.gpu).toMatchObject({ owner: 'vm-a', basis: 'registry', changed: false });
  });

  it('no function has a driver', () => {
    const r = reconcile(record('park'), [[VGA, null], [AUDIO, null]], []);
    expect(r.kinds).toEqual(['no-driver']);
    expect(r.gpu).toMatchObject({ owner: 'park', basis: 'registry' });
  });
});

describe('records and functions', () => {
  it('reports a function missing from the bus and a changed function list, and records the new list', () => {
    const r = reconcile(record('host', { functions: [VGA, '0000:01:00.2' as PciAddress] }), [[VGA, 'nvidia']], []);
    expect(r.kinds).toEqual(['functions-changed', 'function-missing']);
    expect(r.disagreements[1]!.message).toContain('Function 0000:01:00.1 of GPU rtx is not on the PCI bus');
    expect(r.registry.gpus.rtx!.functions).toEqual([VGA, AUDIO]);
    expect(r.gpu.owner).toBe('host');
  });

  it('keeps the record of a GPU the config no longer names, and says so', () => {
    const result = reconcileOwnership({
      registry: { version: 1, gpus: { rtx: record('host'), gone: record('park', { functions: ['0000:0b:00.0' as PciAddress] }) } },
      gpus: [RTX],
      drivers: new Map(onHost),
      vms: [],
      now: NOW,
    });
    expect(result.disagreements.map((d) => [d.gpu, d.kind])).toEqual([['gone', 'unconfigured-gpu']]);
    expect(result.registry.gpus.gone).toEqual(record('park', { functions: ['0000:0b:00.0' as PciAddress] }));
  });
});
