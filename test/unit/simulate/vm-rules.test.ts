// The VM side keeps the hypervisors' rules: a function is held by one VM at a time, attach needs
// vfio-pci and a live VM, detach resolves only when the guest let go, shutdown ends the hold.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  GuestDidNotReleaseError, VmAlreadyRunningError, VmCommandFailedError, VmDeviceBusyError, VmInvalidRequestError, VmNotFoundError, VmNotRunningError, VmTimeoutError,
} from '../../../app/domain/vm/errors.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import type { VmEvent } from '../../../app/domain/vm/port.js';
import { A, A_AUDIO, A_FUNCTIONS, B_FUNCTIONS, simulate, track } from './fixture.js';

afterEach(() => { vi.useRealTimers(); });

describe('SimulatedVmBackend: attach', () => {
  it('attaches every function into one guest slot and reports the device ids', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'park' } });
    const result = await sim.backendFor('win11').attachGpu('win11', { functions: A_FUNCTIONS });
    expect(result).toEqual({ deviceIds: ['baton-gpu-01-00-0', 'baton-gpu-01-00-1'], guestSlot: { bus: 'rp1', slot: 0 }, verifiedBy: 'pci-tree' });
    expect(await sim.backendFor('win11').passthroughDevices('win11')).toEqual([...A_FUNCTIONS]);
    expect(sim.snapshot().gpus.find((g) => g.address === A)?.owner).toBe('win11');
  });

  it('refuses a function another VM holds, as busy, in that hypervisor\'s words', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11' } });
    const error = await sim.backendFor('linux-dev').attachGpu('linux-dev', { functions: A_FUNCTIONS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmDeviceBusyError);
    expect((error as Error).message).toMatch(/PCI device 0000:01:00.0 is in use by driver QEMU, domain win11/);
    expect(sim.assertConsistent()).toEqual([]);
  });

  it('two attaches of one GPU at the same time: exactly one wins', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'park' } });
    const results = await Promise.allSettled([
      sim.backendFor('win11').attachGpu('win11', { functions: A_FUNCTIONS }),
      sim.backendFor('linux-dev').attachGpu('linux-dev', { functions: A_FUNCTIONS }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(sim.assertConsistent()).toEqual([]);
  });

  it('refuses functions still on their host driver (the group is not viable)', async () => {
    const sim = simulate();
    const error = await sim.backendFor('win11').attachGpu('win11', { functions: A_FUNCTIONS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmCommandFailedError);
    expect((error as Error).message).toMatch(/group 8 is not viable/);
  });

  it('refuses a shut-off VM, a request across slots, and a VM of another hypervisor', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'park', 'gpu-b': 'park' } });
    await expect(sim.backendFor('vm-xen').attachGpu('vm-xen', { functions: A_FUNCTIONS })).rejects.toBeInstanceOf(VmNotRunningError);
    await expect(sim.backendFor('win11').attachGpu('win11', { functions: [A, B_FUNCTIONS[1]] })).rejects.toBeInstanceOf(VmInvalidRequestError);
    await expect(sim.backends.qmp.attachGpu('linux-dev', { functions: A_FUNCTIONS })).rejects.toBeInstanceOf(VmNotFoundError);
  });
});

describe('SimulatedVmBackend: detach', () => {
  it('resolves once the guest released every function, with one device-deleted event each', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11' } });
    const events: VmEvent[] = [];
    sim.backendFor('win11').events((e) => events.push(e));
    const result = await sim.backendFor('win11').detachGpu('win11', [...A_FUNCTIONS, '0000:09:00.0' as PciAddress], { deadlineMs: 5_000 });
    expect(result).toEqual({ removed: [...A_FUNCTIONS], alreadyAbsent: ['0000:09:00.0'] });
    expect(events.filter((e) => e.kind === 'device-deleted')).toHaveLength(2);
    expect(sim.snapshot().gpus.find((g) => g.address === A)?.owner).toBe('park');
  });

  it('on a paused VM stalls until the deadline, then rejects with guest-did-not-release; resume completes it', async () => {
    vi.useFakeTimers();
    const sim = simulate({ owners: { 'gpu-a': 'linux-dev' }, vms: { 'linux-dev': { state: 'paused' } } });
    const detach = track(sim.backendFor('linux-dev').detachGpu('linux-dev', A_FUNCTIONS, { deadlineMs: 5_000 }));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(detach.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(detach.error).toBeInstanceOf(GuestDidNotReleaseError);
    expect((detach.error as GuestDidNotReleaseError).pendingDevices).toEqual(['ua-baton-gpu-01-00-0', 'ua-baton-gpu-01-00-1']);
    expect(sim.snapshot().vms.find((v) => v.name === 'linux-dev')?.pendingUnplug).toEqual([...A_FUNCTIONS]);
    // The unplug request stays with the guest: it answers once it runs again.
    await sim.backendFor('linux-dev').resume('linux-dev');
    await vi.advanceTimersByTimeAsync(0);
    expect(sim.workstation.holderOf(A)).toBeNull();
  });

  it('a guest that ignores the unplug keeps the GPU past the deadline', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11' }, vms: { win11: { releasesDevices: false } } });
    await expect(sim.backendFor('win11').detachGpu('win11', A_FUNCTIONS, { deadlineMs: 20 })).rejects.toBeInstanceOf(GuestDidNotReleaseError);
    expect(sim.workstation.holderOf(A_AUDIO)).toBe('win11');
  });

  it('a second detach while the first is pending is busy', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11' }, vms: { win11: { releasesDevices: false } } });
    const first = track(sim.backendFor('win11').detachGpu('win11', A_FUNCTIONS, { deadlineMs: 50 }));
    await expect(sim.backendFor('win11').detachGpu('win11', A_FUNCTIONS, { deadlineMs: 50 })).rejects.toBeInstanceOf(VmDeviceBusyError);
    await first.promise;
  });
});

describe('SimulatedVmBackend: power', () => {
  it('shutdown is graceful for a running guest and frees what it held', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11' } });
    expect(await sim.backendFor('win11').shutdown('win11', { deadlineMs: 1_000 })).toEqual({ outcome: 'graceful' });
    expect(sim.snapshot().vms.find((v) => v.name === 'win11')).toMatchObject({ state: 'shut-off', held: [] });
  });

  it('shutdown is only a request: at the deadline the move is abandoned and the guest keeps running with its GPU', async () => {
    vi.useFakeTimers();
    const sim = simulate({ owners: { 'gpu-a': 'win11' }, vms: { win11: { state: 'paused' } } });
    const shutdown = track(sim.backendFor('win11').shutdown('win11', { deadlineMs: 3_000 }).catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(2_999);
    expect(shutdown.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(shutdown.value).toBeInstanceOf(VmTimeoutError);
    expect((shutdown.value as Error).message).toMatch(/win11: the guest did not shut down within 3000 ms; the move is abandoned and win11 keeps running/);
    const win11 = sim.snapshot().vms.find((v) => v.name === 'win11')!;
    expect(win11.state).toBe('paused');
    expect(win11.held.length).toBeGreaterThan(0);
  });

  it('shutdown powers off at forceAfterMs only when it is given, and is already-off for a stopped one', async () => {
    vi.useFakeTimers();
    const sim = simulate({ vms: { win11: { state: 'paused' } } });
    const shutdown = track(sim.backendFor('win11').shutdown('win11', { deadlineMs: 1_000, forceAfterMs: 3_000 }));
    await vi.advanceTimersByTimeAsync(2_999);
    expect(shutdown.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(shutdown.value).toEqual({ outcome: 'forced' });
    expect(await sim.backendFor('vm-xen').shutdown('vm-xen', { deadlineMs: 1_000 })).toEqual({ outcome: 'already-off' });
  });

  it('start cold-plugs the GPU, refuses one held elsewhere, and refuses a running VM', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11', 'gpu-b': 'park' } });
    await expect(sim.backendFor('vm-xen').start('vm-xen', { withGpu: { functions: A_FUNCTIONS } })).rejects.toThrow(/already assigned to domain win11/);
    expect(sim.snapshot().vms.find((v) => v.name === 'vm-xen')?.state).toBe('shut-off');
    await sim.backendFor('vm-xen').start('vm-xen', { withGpu: { functions: B_FUNCTIONS } });
    expect(await sim.backendFor('vm-xen').passthroughDevices('vm-xen')).toEqual([...B_FUNCTIONS]);
    await expect(sim.backendFor('win11').start('win11', {})).rejects.toBeInstanceOf(VmAlreadyRunningError);
  });

  it('pause and resume change the state and tell listeners', async () => {
    const sim = simulate();
    const states: string[] = [];
    sim.backendFor('win11').events((e) => { if (e.kind === 'state-changed') states.push(e.state); });
    await sim.backendFor('win11').pause('win11');
    expect(await sim.backendFor('win11').state('win11')).toEqual({ state: 'paused', raw: 'paused' });
    await sim.backendFor('win11').resume('win11');
    expect(states).toEqual(['paused', 'running']);
    expect(await sim.backends.xen.listVms()).toEqual([{ name: 'vm-xen', hypervisor: 'xen', state: 'shut-off', raw: 'not-listed' }]);
  });
});

describe('SimulatedVmBackend: forced detach', () => {
  it('xen removes the GPU from a paused guest at once when forced; QMP ignores force and stalls', async () => {
    vi.useFakeTimers();
    const sim = simulate({ owners: { 'gpu-a': 'win11', 'gpu-b': 'vm-xen' }, vms: { win11: { state: 'paused' }, 'vm-xen': { state: 'paused' } } });
    const xen = track(sim.backendFor('vm-xen').detachGpu('vm-xen', B_FUNCTIONS, { deadlineMs: 5_000, force: true }));
    const qmp = track(sim.backendFor('win11').detachGpu('win11', A_FUNCTIONS, { deadlineMs: 5_000, force: true }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(xen.value).toEqual({ removed: [...B_FUNCTIONS], alreadyAbsent: [] });
    expect(qmp.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(qmp.error).toBeInstanceOf(GuestDidNotReleaseError);
  });
});
