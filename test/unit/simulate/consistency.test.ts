// snapshot() shows who has what; assertConsistent() names every broken rule, and only those.
import { expect, it } from 'vitest';
import { A, A_AUDIO, B, simulate } from './fixture.js';

it('a fresh workstation and one after a normal switch are consistent', async () => {
  const sim = simulate({ owners: { 'gpu-a': 'win11', 'gpu-b': 'park' } });
  expect(sim.assertConsistent()).toEqual([]);
  await sim.backendFor('win11').detachGpu('win11', [A, A_AUDIO], { deadlineMs: 1_000 });
  expect(sim.assertConsistent()).toEqual([]);
});

it('snapshot is plain JSON of owners, drivers, VM states and held functions', () => {
  const sim = simulate({ owners: { 'gpu-a': 'win11' } });
  const snapshot = sim.snapshot();
  expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  expect(snapshot.gpus.map((g) => [g.address, g.owner])).toEqual([['0000:00:01.0', 'host'], [A, 'win11'], [B, 'host']]);
  expect(snapshot.vms.find((v) => v.name === 'win11')).toMatchObject({ hypervisor: 'qmp', state: 'running', held: [A, A_AUDIO] });
  expect(snapshot.functions.find((f) => f.address === A_AUDIO)).toMatchObject({ driver: 'vfio-pci', hostDriver: 'snd_hda_intel', heldBy: 'win11' });
});

it('catches a function held by two VMs', () => {
  const sim = simulate({ owners: { 'gpu-a': 'win11' } });
  sim.workstation.forceHold('linux-dev', A);
  expect(sim.assertConsistent()).toContain('0000:01:00.0 is held by more than one VM: win11, linux-dev');
});

it('catches a VM holding a function not on vfio-pci', () => {
  const sim = simulate({ owners: { 'gpu-a': 'win11' } });
  sim.workstation.forceDriver(A_AUDIO, 'snd_hda_intel');
  expect(sim.assertConsistent()).toContain('win11 holds 0000:01:00.1, which is bound to snd_hda_intel, not vfio-pci');
});

it('catches a VM paused through the port that nobody resumed, but not one configured paused', async () => {
  const sim = simulate({ vms: { 'linux-dev': { state: 'paused' } } });
  expect(sim.assertConsistent()).toEqual([]);
  await sim.backendFor('win11').pause('win11');
  expect(sim.assertConsistent()).toEqual(['win11 was paused and nobody resumed it']);
  await sim.backendFor('win11').resume('win11');
  expect(sim.assertConsistent()).toEqual([]);
});

it('catches a GPU split between host and vfio-pci', () => {
  const sim = simulate({ owners: { 'gpu-b': 'park' } });
  sim.workstation.forceDriver(B, 'bochs-drm');
  expect(sim.snapshot().gpus.find((g) => g.address === B)?.owner).toBe('mixed');
  expect(sim.assertConsistent()).toEqual([expect.stringMatching(/^GPU 0000:02:00.0 is split/)]);
});
