// Hot-plug of several functions into one guest slot, and confirmed hot-unplug, over QMP.
// Device-agnostic (vfio-pci in production, emulated devices in tests).
import {
  GuestDidNotReleaseError,
  VmCommandFailedError,
  VmNotFoundError,
  type VmBackendError,
} from '../../domain/vm/errors.js';
import type { GuestSlot } from '../../domain/vm/port.js';
import type { QmpClient } from './client.js';
import { guestPciAddr } from './device-ids.js';
import type { QmpEvent } from './messages.js';
import { flattenPciTree, parseQueryPci, type GuestPciFunction } from './pci-tree.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface SlotFunction {
  id: string;
  driver: string;
  /** Guest function number within the slot. */
  function: number;
  properties?: Record<string, string | number | boolean>;
}

/**
 * Adds the non-zero functions first and function 0 last with multifunction=on: QEMU exposes a slot
 * to the guest when function 0 arrives, and refuses further functions after that. On a failure the
 * functions already added are asked to leave (best effort) and the error is rethrown.
 */
export async function plugSlot(client: QmpClient, slot: GuestSlot, functions: readonly SlotFunction[]): Promise<'pci-tree' | 'object-model'> {
  const order = [...functions].sort((a, b) => (a.function === 0 ? 1 : 0) - (b.function === 0 ? 1 : 0));
  const added: SlotFunction[] = [];
  try {
    for (const fn of order) {
      await client.execute('device_add', {
        driver: fn.driver,
        id: fn.id,
        bus: slot.bus,
        addr: guestPciAddr(slot.slot, fn.function),
        ...(fn.function === 0 && functions.length > 1 ? { multifunction: true } : {}),
        ...fn.properties,
      }, { device: fn.id, timeoutMs: 15_000 });
      added.push(fn);
    }
  } catch (error) {
    await Promise.allSettled(added.map((fn) => client.execute('device_del', { id: fn.id }, { timeoutMs: 2_000 })));
    throw error;
  }
  return verifyPlugged(client, slot, functions);
}

async function verifyPlugged(client: QmpClient, slot: GuestSlot, functions: readonly SlotFunction[]): Promise<'pci-tree' | 'object-model'> {
  const tree = await readPciTree(client);
  const bridge = tree.find((f) => f.qdevId === slot.bus && f.bridgeEnumerated !== null);
  if (bridge?.bridgeEnumerated) {
    const missing = functions.filter((fn) => !tree.some((f) =>
      f.qdevId === fn.id && f.parentBridge === slot.bus && f.slot === slot.slot && f.function === fn.function));
    if (missing.length > 0) throw verifyFailed(client, `query-pci does not show ${missing.map((f) => f.id).join(', ')} at ${slot.bus} slot ${slot.slot}`);
    return 'pci-tree';
  }
  // The bus has no number yet, so query-pci cannot list what is behind it: ask the object model.
  for (const fn of functions) {
    const realized = await client.execute('qom-get', { path: `/machine/peripheral/${fn.id}`, property: 'realized' }, { device: fn.id });
    if (realized !== true) throw verifyFailed(client, `${fn.id} is not realized`);
  }
  return 'object-model';
}

export async function readPciTree(client: QmpClient): Promise<GuestPciFunction[]> {
  const value = await client.execute('query-pci');
  try {
    return flattenPciTree(parseQueryPci(value));
  } catch (error) {
    throw new VmCommandFailedError(`QMP query-pci on ${client.vm}: unexpected shape`, { vm: client.vm, hypervisor: 'qmp', cause: error });
  }
}

/** Device ids (or QOM paths for devices without one) currently in /machine/peripheral*. */
export async function listPeripherals(client: QmpClient): Promise<{ path: string; id: string | null; type: string }[]> {
  const out: { path: string; id: string | null; type: string }[] = [];
  for (const container of ['/machine/peripheral', '/machine/peripheral-anon']) {
    const entries = await client.execute('qom-list', { path: container });
    if (!Array.isArray(entries)) continue;
    for (const entry of entries as unknown[]) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { name, type } = entry as { name?: unknown; type?: unknown };
      const child = typeof type === 'string' ? /^child<(.+)>$/.exec(type) : null;
      if (typeof name !== 'string' || !child?.[1]) continue;
      out.push({ path: `${container}/${name}`, id: container === '/machine/peripheral' ? name : null, type: child[1] });
    }
  }
  return out;
}

/**
 * device_del for each device (an id, or a QOM path for one without id), then waits for a
 * DEVICE_DELETED for every one and checks the PCI tree and the object model no longer hold them.
 * Rejects with GuestDidNotReleaseError at the deadline or when the guest reports an unplug error.
 */
export async function unplugDevices(client: QmpClient, devices: readonly string[], deadlineMs: number): Promise<void> {
  const waiting = new Set(devices);
  const pathOf = (device: string) => (device.startsWith('/') ? device : `/machine/peripheral/${device}`);
  const matching = (event: QmpEvent) => devices.find((d) =>
    event.data.device === d || event.data.path === pathOf(d));
  let settle: ((error?: VmBackendError) => void) | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // It may settle while device_del is still in flight; it is awaited below.
  done.catch(() => undefined);
  const context = { vm: client.vm, hypervisor: 'qmp' as const, device: devices.join(', ') };
  const stopEvents = client.onEvent((event) => {
    const device = matching(event);
    if (!device) return;
    if (event.event === 'DEVICE_DELETED') {
      waiting.delete(device);
      if (waiting.size === 0) settle?.();
    } else if (event.event === 'DEVICE_UNPLUG_GUEST_ERROR') {
      settle?.(new GuestDidNotReleaseError(`${client.vm}: the guest refused to unplug ${device}`, context, [...waiting], deadlineMs));
    }
  });
  const stopDisconnect = client.onDisconnect((reason) => settle?.(reason));
  const timer = setTimeout(() => settle?.(new GuestDidNotReleaseError(
    `${client.vm}: the guest did not release ${[...waiting].join(', ')} within ${deadlineMs} ms`, context, [...waiting], deadlineMs)), deadlineMs);
  try {
    // Non-zero functions first, mirroring the plug order.
    for (const device of devices) {
      try {
        await client.execute('device_del', { id: device }, { device, timeoutMs: Math.max(1_000, Math.min(deadlineMs, 10_000)) });
      } catch (error) {
        // Gone between our look and our request: that is the outcome we want.
        if (error instanceof VmNotFoundError) waiting.delete(device);
        else throw error;
      }
    }
    if (waiting.size === 0) settle?.();
    // The guest's unplug: a wait on the guest.
    await waitedOn(done);
  } finally {
    clearTimeout(timer);
    stopEvents();
    stopDisconnect();
  }
  await verifyGone(client, devices);
}

async function verifyGone(client: QmpClient, devices: readonly string[]): Promise<void> {
  const ids = new Set(devices.filter((d) => !d.startsWith('/')));
  const tree = await readPciTree(client);
  const stillListed = tree.filter((f) => ids.has(f.qdevId)).map((f) => f.qdevId);
  const peripherals = new Set((await listPeripherals(client)).map((p) => p.path));
  const stillPresent = devices.filter((d) => peripherals.has(d.startsWith('/') ? d : `/machine/peripheral/${d}`));
  const left = [...new Set([...stillListed, ...stillPresent])];
  if (left.length > 0) throw verifyFailed(client, `DEVICE_DELETED arrived but ${left.join(', ')} is still present`);
}

function verifyFailed(client: QmpClient, what: string): VmCommandFailedError {
  return new VmCommandFailedError(`${client.vm}: ${what}`, { vm: client.vm, hypervisor: 'qmp' });
}
