// Issue 12, the switch's part: the keyboard and mouse that follow a GPU move as a planned step with
// its undo, hand over VM to VM, come back to the host first, are given again to the VM that holds
// the GPU after a helper restart, and the return chord runs the configured move as the helper's own
// request (requestedBy chord). On the simulated workstation's input port.
import { describe, expect, it } from 'vitest';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import type { HistoryEntry } from '../../../app/domain/history/entry.js';
import { GPU_A } from '../../../app/helper/simulate/index.js';
import { makeHarness, realOwner, settle } from './harness.js';

function withInputs(config: BatonConfig, action: 'host' | 'cycle' = 'host'): BatonConfig {
  return {
    ...config,
    inputs: { devices: [{ name: 'kbd', path: '/dev/input/by-id/usb-Lab_Keyboard-event-kbd' }], follow: [], returnChord: { keys: ['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'], action } },
    gpus: config.gpus.map((g) => (g.name === 'gpu-a' ? { ...g, inputs: ['kbd'] } : g)),
  };
}

async function fresh(action: 'host' | 'cycle' = 'host') {
  const base = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
  const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } }, 400, undefined, withInputs(base.sim.config, action));
  expect(await h.service.reconcile()).toEqual([]);
  return h;
}

const steps = (e: HistoryEntry | undefined) => e?.steps.map((s) => `${s.name}:${s.outcome}`);
const last = (h: Awaited<ReturnType<typeof fresh>>) => h.history.query({}).entries[0];

describe('move input: a planned step of the switch', () => {
  it('into a VM: after the attach, the inputs go to it; a GPU without inputs plans no such step', async () => {
    const h = await fresh();
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    expect(steps(h.history.get(r.switchId))).toEqual(['claim:ok', 'reset:ok', 'vbios:ok', 'attach:ok', 'move-input:ok', 'verify:ok']);
    expect(h.sim.inputs.holder('gpu-a')).toBe('win11');
    const b = await h.service.switchGpu({ gpu: 'gpu-b', target: 'linux-dev', requestedBy: 'cli' });
    expect(steps(h.history.get(b.switchId))).not.toContain('move-input:ok');
    expect(h.sim.inputs.holder('gpu-b')).toBeNull();
  });

  it('VM to VM hands them over; back to the host they come first, before the GPU is released', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    const over = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' });
    expect(over.outcome).toBe('succeeded');
    expect(steps(h.history.get(over.switchId))?.at(-2)).toBe('move-input:ok');
    expect(h.sim.inputs.holder('gpu-a')).toBe('linux-dev');
    const home = await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
    expect(steps(h.history.get(home.switchId))?.[0]).toBe('move-input:ok');
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
    expect(h.sim.inputs.moves.map((m) => m.vm)).toEqual(['win11', 'linux-dev', null]);
  });

  it('a move-input that fails rolls the switch back: the GPU and the inputs stay with the host', async () => {
    const h = await fresh();
    h.sim.inputs.failNext('gpu-a', 'UI_DEV_CREATE: ENOMEM');
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('rolled-back');
    expect(r.error).toContain('UI_DEV_CREATE: ENOMEM');
    expect(realOwner(h.sim, GPU_A)).toBe('host');
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
    expect(steps(h.history.get(r.switchId))).toContain('move-input:failed');
  });

  it('a later step failing on the way home: the VM keeps the GPU and gets its inputs back', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    h.faultAtStep('release', { operation: 'detach', kind: 'error', vm: 'win11' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
    expect(r.outcome).toBe('rolled-back');
    expect(realOwner(h.sim, GPU_A)).toBe('win11');
    expect(h.sim.inputs.holder('gpu-a')).toBe('win11');
    // The engine saw the GPU still in win11 and ran no undo; the service gave the inputs back to
    // whoever has the GPU (the entry keeps the move as it ran).
    expect(steps(h.history.get(r.switchId))?.slice(0, 2)).toEqual(['move-input:ok', 'release:failed']);
    expect(h.sim.inputs.moves.map((m) => m.vm)).toEqual(['win11', null, 'win11']);
  });

  it('a switch that ends parked leaves the inputs with the host', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    h.faultAtStep('return-to-host', { operation: 'release', kind: 'error', times: Infinity });
    h.faultAtStep('release', { operation: 'attach', kind: 'error', vm: 'win11', times: Infinity });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
    expect(r.outcome).toBe('parked');
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
  });

  it('into a Xen VM: the GPU moves, the step is skipped saying why, the inputs stay with the host; back home the step has nothing to give back', async () => {
    const h = await fresh();
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'vm-xen', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    const entry = h.history.get(r.switchId);
    expect(entry?.steps.find((s) => s.name === 'move-input')).toMatchObject({ outcome: 'skipped', error: expect.stringContaining('vm-xen runs on xen, which cannot take an evdev input') });
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
    const home = await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
    expect(home.outcome).toBe('succeeded');
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
  });

  it('the VM\'s QEMU holds one input object while it has the inputs, and none after they left', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(Object.keys(h.sim.backends.qmp.inputObjectsOf('win11'))).toEqual(['baton-input-gpu-a']);
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' });
    expect(h.sim.backends.qmp.inputObjectsOf('win11')).toEqual({});
    expect(Object.keys(h.sim.backends.libvirt.inputObjectsOf('linux-dev'))).toEqual(['baton-input-gpu-a']);
  });

  it('after a helper crash (its relays died with it), recovery gives the VM that still holds the GPU its inputs again', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    h.kill();
    h.sim.inputs.crash();
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems).toEqual([]);
    expect(after.sim.inputs.holder('gpu-a')).toBe('win11');
  });

  it('recovery reports an input it cannot give back, and the helper still comes up', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    h.kill();
    h.sim.inputs.crash();
    const after = h.restart();
    after.sim.inputs.failNext('gpu-a', '/dev/uinput: ENOENT');
    const recovery = await after.service.recover();
    expect(recovery.problems).toEqual(['the keyboard and mouse of gpu-a could not be given back to the VM that holds it: /dev/uinput: ENOENT']);
    expect((await after.service.status()).recoveryProblems).toEqual(recovery.problems);
  });
});

describe('the return chord', () => {
  it('moves the GPU home as the helper\'s own request: requestedBy chord, with its steps, the inputs back with the host', async () => {
    const h = await fresh();
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'tray' });
    const events: string[] = [];
    h.service.subscribe((e) => events.push(e.kind === 'switch-started' ? `started ${e.requestedBy} ${e.from}→${e.to}` : e.kind));
    expect(h.sim.inputs.pressChord('gpu-a')).toBe(true);
    await settle();
    await h.service.idle();
    const entry = last(h);
    expect(entry).toMatchObject({ requestedBy: 'chord', from: 'win11', to: 'host', outcome: 'succeeded', finalOwner: 'host' });
    expect(steps(entry)).toEqual(['move-input:ok', 'release:ok', 'return-to-host:ok', 'verify:ok']);
    expect(events[0]).toBe('started chord win11→host');
    expect(events).toContain('history-appended');
    expect(realOwner(h.sim, GPU_A)).toBe('host');
    expect(h.sim.inputs.holder('gpu-a')).toBeNull();
  });

  it('with action cycle, moves the GPU on to its next target', async () => {
    const h = await fresh('cycle');
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'tray' });
    h.sim.inputs.pressChord('gpu-a');
    await settle();
    await h.service.idle();
    expect(last(h)).toMatchObject({ requestedBy: 'chord', from: 'win11', to: 'linux-dev', outcome: 'succeeded' });
    expect(h.sim.inputs.holder('gpu-a')).toBe('linux-dev');
  });

  it('is not heard while the host has the inputs (no relay runs then), and a client cannot claim to be it', async () => {
    const h = await fresh();
    expect(h.sim.inputs.pressChord('gpu-a')).toBe(false);
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'chord' as never })).rejects.toThrow(/set only by the helper itself/);
    expect(h.history.query({}).entries).toEqual([]);
  });
});
