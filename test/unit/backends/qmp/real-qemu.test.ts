// The QMP client and backend against real, guestless QEMU processes (TCG).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { describeOrSkip } from '../../../support/skip.js';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import {
  GuestDidNotReleaseError, VmAlreadyRunningError, VmCommandFailedError, VmConnectionLostError, VmDeviceBusyError,
  VmNotFoundError, VmProtocolError, VmStartFailedError,
  VmTimeoutError,
} from '../../../../app/domain/vm/errors.js';
import type { VmEvent } from '../../../../app/domain/vm/port.js';
import { QmpBackend } from '../../../../app/backends/qmp/backend.js';
import { QmpClient } from '../../../../app/backends/qmp/client.js';
import type { QmpEvent } from '../../../../app/backends/qmp/messages.js';
import { plugSlot, readPciTree, unplugDevices } from '../../../../app/backends/qmp/slot-plug.js';
import { guestlessArgv, isAlive, killAllQemu, qemuUnavailableReason, socketAccepts, startQemu, tempDir, type TestQemu } from './qemu-harness.js';

const unavailable = qemuUnavailableReason();

const clients: QmpClient[] = [];
const backends: QmpBackend[] = [];

async function connect(qemu: TestQemu, options: { negotiate?: boolean } = {}): Promise<QmpClient> {
  const client = await QmpClient.connect({ socketPath: qemu.socketPath, vm: 'test-vm', connectTimeoutMs: 10_000, ...options });
  clients.push(client);
  return client;
}

/** A running VM whose firmware numbered rp1's bus (so query-pci lists what is behind it), then paused. */
async function enumeratedVm(): Promise<{ qemu: TestQemu; client: QmpClient }> {
  const qemu = await startQemu({ paused: false });
  const client = await connect(qemu);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const rp1 = (await readPciTree(client)).find((f) => f.qdevId === 'rp1');
    if (rp1?.bridgeEnumerated) {
      await client.execute('stop');
      return { qemu, client };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('firmware did not number rp1 in time');
}

function collectEvents(client: QmpClient): QmpEvent[] {
  const events: QmpEvent[] = [];
  client.onEvent((event) => events.push(event));
  return events;
}

async function cleanup(): Promise<void> {
  for (const client of clients.splice(0)) client.close();
  for (const backend of backends.splice(0)) {
    await backend.close();
  }
  await killAllQemu();
}
afterEach(cleanup);
afterAll(cleanup);

describeOrSkip(unavailable, 'QMP against real QEMU', () => {
  it('reads the greeting and negotiates capabilities', async () => {
    const client = await connect(await startQemu({ paused: true }));
    expect(client.greeting?.version.qemu.major).toBeGreaterThanOrEqual(6);
    expect(client.greeting?.capabilities).toContain('oob');
    // Only a negotiated session answers ordinary commands.
    expect(await client.execute('query-status')).toMatchObject({ status: 'prelaunch', running: false });
  });

  it('hot-plugs an emulated device behind the root port, visible nested in query-pci', async () => {
    const { client } = await enumeratedVm();
    const verifiedBy = await plugSlot(client, { bus: 'rp1', slot: 0 }, [{ id: 'nic0', driver: 'e1000e', function: 0 }]);
    expect(verifiedBy).toBe('pci-tree');
    const nic = (await readPciTree(client)).find((f) => f.qdevId === 'nic0');
    expect(nic).toMatchObject({ parentBridge: 'rp1', slot: 0, function: 0, vendor: 0x8086, device: 0x10d3, classCode: 0x0200 });
  });

  it('hot-plugs two functions into one slot (function 1 first, then function 0 multifunction)', async () => {
    const { client } = await enumeratedVm();
    // Listed fn0 first on purpose: plugSlot must reorder, or QEMU refuses function 1 after function 0.
    const verifiedBy = await plugSlot(client, { bus: 'rp1', slot: 0 }, [
      { id: 'gpu-like-0', driver: 'e1000e', function: 0 },
      { id: 'gpu-like-1', driver: 'ich9-intel-hda', function: 1 },
    ]);
    expect(verifiedBy).toBe('pci-tree');
    const behindRp1 = (await readPciTree(client)).filter((f) => f.parentBridge === 'rp1');
    expect(behindRp1.map((f) => [f.qdevId, f.slot, f.function, f.classCode])).toEqual([
      ['gpu-like-0', 0, 0, 0x0200],
      ['gpu-like-1', 0, 1, 0x0403],
    ]);
    const multifunction = await client.execute('qom-get', { path: '/machine/peripheral/gpu-like-0', property: 'multifunction' });
    expect(multifunction).toBe(true);
  });

  it('falls back to the object model when no firmware numbered the bus (-S)', async () => {
    const client = await connect(await startQemu({ paused: true }));
    const verifiedBy = await plugSlot(client, { bus: 'rp1', slot: 0 }, [{ id: 'nic0', driver: 'e1000e', function: 0 }]);
    expect(verifiedBy).toBe('object-model');
    expect((await readPciTree(client)).some((f) => f.qdevId === 'nic0')).toBe(false);
  });

  it('pauses and resumes with STOP/RESUME events and query-status', async () => {
    const qemu = await startQemu({ paused: true });
    const backend = new QmpBackend({ vms: [{ name: 'vm-a', socketPath: qemu.socketPath }] });
    backends.push(backend);
    const events: VmEvent[] = [];
    backend.events((event) => events.push(event));
    // Concurrent first calls share one connection (QEMU's monitor serves one client at a time).
    expect(await Promise.all([backend.state('vm-a'), backend.state('vm-a')])).toEqual([
      { state: 'paused', raw: 'prelaunch' }, { state: 'paused', raw: 'prelaunch' }]);
    await backend.resume('vm-a');
    expect(await backend.state('vm-a')).toEqual({ state: 'running', raw: 'running' });
    await backend.pause('vm-a');
    expect(await backend.state('vm-a')).toEqual({ state: 'paused', raw: 'paused' });
    expect(events.filter((e) => e.kind === 'state-changed').map((e) => e.kind === 'state-changed' && e.state)).toEqual(['running', 'paused']);
  });

  it('maps every error class QEMU gives here to a typed error', async () => {
    const qemu = await startQemu({ paused: true });
    const raw = await connect(qemu, { negotiate: false });
    const notNegotiated = await raw.execute('query-status').catch((e: unknown) => e);
    expect(notNegotiated).toBeInstanceOf(VmProtocolError);
    expect(notNegotiated).toMatchObject({ hypervisorErrorClass: 'CommandNotFound', vm: 'test-vm', hypervisor: 'qmp' });
    raw.close();

    const client = await connect(qemu);
    await expect(client.execute('no-such-command')).rejects.toMatchObject({
      constructor: VmCommandFailedError, hypervisorErrorClass: 'CommandNotFound' });
    await expect(client.execute('device_add', { driver: 'no-such-device-model', id: 'x' })).rejects.toMatchObject({
      constructor: VmCommandFailedError, hypervisorErrorClass: 'GenericError', hypervisorMessage: expect.stringContaining('no-such-device-model') });
    await expect(client.execute('device_add', { driver: 'e1000e', id: 'x', bus: 'pcie.0' })).rejects.toMatchObject({
      constructor: VmCommandFailedError, hypervisorMessage: expect.stringContaining('does not support hotplugging') });
    await expect(client.execute('device_del', { id: 'nope' }, { device: 'nope' })).rejects.toMatchObject({
      constructor: VmNotFoundError, target: 'device', device: 'nope', hypervisorErrorClass: 'DeviceNotFound' });
    await expect(client.execute('query-balloon')).rejects.toMatchObject({
      constructor: VmCommandFailedError, hypervisorErrorClass: 'DeviceNotActive' });
    await client.execute('device_add', { driver: 'e1000e', id: 'nic0', bus: 'rp1' });
    await expect(client.execute('device_add', { driver: 'e1000e', id: 'nic0', bus: 'rp1' })).rejects.toBeInstanceOf(VmDeviceBusyError);
    // The connection survives every error.
    expect(await client.execute('query-status')).toMatchObject({ status: 'prelaunch' });
  });

  it('attachGpu sends a real vfio-pci device_add; without the host device QEMU refuses it', async () => {
    const qemu = await startQemu({ paused: true });
    const backend = new QmpBackend({ vms: [{ name: 'vm-a', socketPath: qemu.socketPath, gpuSlot: { bus: 'rp1', slot: 0 } }] });
    backends.push(backend);
    const error = await backend.attachGpu('vm-a', { functions: ['0000:6f:00.0', '0000:6f:00.1'] as PciAddress[] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmCommandFailedError);
    // Function 1 goes first, so that is the one QEMU names.
    expect((error as VmCommandFailedError).hypervisorMessage).toMatch(/vfio.*0000:6f:00\.1/);
    expect((error as VmCommandFailedError).device).toBe('baton-gpu-6f-00-1');
    expect(await backend.passthroughDevices('vm-a')).toEqual([]);
  });

  it('device_del on a guestless VM ends in GuestDidNotReleaseError at the deadline', async () => {
    const { client } = await enumeratedVm();
    await plugSlot(client, { bus: 'rp1', slot: 0 }, [{ id: 'nic0', driver: 'e1000e', function: 0 }]);
    await client.execute('cont');
    const started = Date.now();
    const error = await unplugDevices(client, ['nic0'], 1_500).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(error).toBeInstanceOf(GuestDidNotReleaseError);
    expect(error).toMatchObject({ pendingDevices: ['nic0'], deadlineMs: 1_500 });
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(5_000);
    // Still there: the guest never ejected it.
    expect((await readPciTree(client)).some((f) => f.qdevId === 'nic0')).toBe(true);
  });

  it('rejects a pending request with connection-lost when QEMU dies mid-command', async () => {
    const qemu = await startQemu({ paused: true });
    const client = await connect(qemu);
    const lost: unknown[] = [];
    client.onDisconnect((reason) => lost.push(reason));
    // Frozen, QEMU cannot answer: the request is surely pending when the process dies.
    qemu.child.kill('SIGSTOP');
    const pending = [client.execute('query-pci'), client.execute('query-status')].map((p) => p.catch((e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 100));
    qemu.child.kill('SIGKILL');
    for (const outcome of await Promise.all(pending)) expect(outcome).toBeInstanceOf(VmConnectionLostError);
    expect(lost).toHaveLength(1);
    expect(client.connected).toBe(false);
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(VmConnectionLostError);
  });

  it('reconnects explicitly to the same QEMU after closing', async () => {
    const qemu = await startQemu({ paused: true });
    const client = await connect(qemu);
    const events = collectEvents(client);
    client.close();
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(VmConnectionLostError);
    await client.reconnect();
    await client.execute('cont');
    // Listeners registered before the reconnect still hear events.
    expect(events.map((e) => e.event)).toContain('RESUME');
  });

  it('starts from argv, refuses a second start, then shuts down: powerdown ignored, the VM keeps running until forceAfterMs allows quit', async () => {
    const socketPath = path.join(tempDir(), 'vm.sock');
    const backend = new QmpBackend({ vms: [{ name: 'vm-a', socketPath, argv: guestlessArgv({ paused: true }) }] });
    backends.push(backend);
    expect(await backend.state('vm-a')).toEqual({ state: 'shut-off', raw: 'no-qmp-listener' });
    const { pid } = await backend.start('vm-a', {});
    expect(pid).toBeGreaterThan(0);
    try {
      expect(await backend.state('vm-a')).toMatchObject({ state: 'paused' });
      await expect(backend.start('vm-a', {})).rejects.toBeInstanceOf(VmAlreadyRunningError);
      await backend.resume('vm-a');
      // A guest that does not act on the ACPI power button (here: none at all) is not killed.
      const abandoned = await backend.shutdown('vm-a', { deadlineMs: 1_000 }).catch((e: unknown) => e);
      expect(abandoned).toBeInstanceOf(VmTimeoutError);
      expect((abandoned as Error).message).toContain('the move is abandoned and vm-a keeps running');
      expect(isAlive(pid as number)).toBe(true);
      expect(await backend.state('vm-a')).toMatchObject({ state: 'running' });
      expect(await backend.shutdown('vm-a', { deadlineMs: 1_000, forceAfterMs: 1_000 })).toEqual({ outcome: 'forced' });
      expect(isAlive(pid as number)).toBe(false);
      expect(await socketAccepts(socketPath)).toBe(false);
      expect(await backend.state('vm-a')).toEqual({ state: 'shut-off', raw: 'no-qmp-listener' });
      expect(await backend.shutdown('vm-a', { deadlineMs: 1_000 })).toEqual({ outcome: 'already-off' });
    } finally {
      backend.processOf('vm-a')?.kill('SIGKILL');
    }
  });

  it('starts QEMU in the configured working folder (start.cwd), and in / without one', async () => {
    const cwd = tempDir();
    const backend = new QmpBackend({ vms: [
      { name: 'vm-a', socketPath: path.join(tempDir(), 'a.sock'), argv: guestlessArgv({ paused: true }), cwd },
      { name: 'vm-b', socketPath: path.join(tempDir(), 'b.sock'), argv: guestlessArgv({ paused: true }) },
    ] });
    backends.push(backend);
    try {
      const a = await backend.start('vm-a', {});
      const b = await backend.start('vm-b', {});
      expect(fs.readlinkSync(`/proc/${a.pid}/cwd`)).toBe(fs.realpathSync(cwd));
      expect(fs.readlinkSync(`/proc/${b.pid}/cwd`)).toBe('/');
    } finally {
      backend.processOf('vm-a')?.kill('SIGKILL');
      backend.processOf('vm-b')?.kill('SIGKILL');
    }
  });

  it('start with a GPU that is not there fails with QEMU\'s own vfio message', async () => {
    const socketPath = path.join(tempDir(), 'vm.sock');
    const backend = new QmpBackend({
      vms: [{ name: 'vm-a', socketPath, argv: guestlessArgv({ paused: true }), gpuSlot: { bus: 'rp1', slot: 0 } }],
    });
    backends.push(backend);
    const error = await backend.start('vm-a', { withGpu: { functions: ['0000:6f:00.0'] as PciAddress[], romFile: '/no/such,rom' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmStartFailedError);
    expect((error as VmStartFailedError).hypervisorMessage).toMatch(/vfio.*0000:6f:00\.0/);
  });
});
