// XenBackend's decisions against a fake xl + xenstore (fake-xen.mjs) that follows the lab's findings:
// order of commands, the PV backend watched in xenstore, the paused-guest refusal, force, a stuck
// detach reported with where it stopped, an export that never finishes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { XenBackend, type XenBackendObservation } from '../../../../app/backends/xen/backend.js';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import { GuestDidNotReleaseError, VmNotRunningError, VmTimeoutError } from '../../../../app/domain/vm/errors.js';

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-xen.mjs');
const gpu = ['0000:01:00.0', '0000:01:00.1'] as PciAddress[];

interface FakeState {
  domains: { name: string; domid: number; flags: string; type?: string }[];
  xenstore: Record<string, Record<string, string>>;
  assignable: string[];
  guestIgnores?: boolean;
  exportStalls?: boolean;
  guestIgnoresShutdown?: boolean;
  calls: string[][];
}

const dirs: string[] = [];
afterEach(() => { for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true }); });

function fake(initial: Partial<FakeState> = {}, extra: { attachTimeoutMs?: number } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-fake-xen-'));
  dirs.push(dir);
  const file = path.join(dir, 'state.json');
  fs.writeFileSync(file, JSON.stringify({
    domains: [{ name: 'vm-a', domid: 1, flags: '-b----' }, { name: 'vm-b', domid: 2, flags: '-b----' }],
    xenstore: {}, assignable: ['0000:01:00.0'], calls: [], ...initial,
  }));
  // The xenstore client is the same script, told apart by its first argument.
  const wrapper = path.join(dir, 'xenstore');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" xenstore "$@"\n`, { mode: 0o755 });
  const observed: XenBackendObservation[] = [];
  const backend = new XenBackend({
    vms: [{ name: 'vm-a', domain: 'vm-a' }, { name: 'vm-b', domain: 'vm-b' }, { name: 'vm-off', domain: 'vm-off' }],
    xlPath: FAKE, xenstorePath: wrapper, commandTimeoutMs: 10_000, pollMs: 10,
    env: { FAKE_XEN_STATE: file }, onBackendState: (o) => observed.push(o), ...extra,
  });
  const read = (): FakeState => JSON.parse(fs.readFileSync(file, 'utf8')) as FakeState;
  const xl = () => read().calls.filter((c) => c[0] === 'xl' && /^(pci-(attach|detach|assignable-add)|pause|unpause)$/.test(c[1] ?? '')).map((c) => c.slice(1).join(' '));
  return { backend, read, xl, observed };
}

// Each xl / xenstore call is a node process: generous per-test time on a busy machine.
describe('XenBackend (fake xl)', { timeout: 120_000 }, () => {
  it('makes missing functions assignable, attaches function 0 first, and sees each exported in xenstore', async () => {
    const { backend, xl, observed } = fake();
    const result = await backend.attachGpu('vm-a', { functions: gpu });
    expect(result).toEqual({ deviceIds: gpu, guestSlot: { bus: 'pcifront', slot: 0 }, verifiedBy: 'object-model' });
    expect(xl()).toEqual(['pci-assignable-add 0000:01:00.1', 'pci-attach vm-a 0000:01:00.0', 'pci-attach vm-a 0000:01:00.1']);
    expect(observed.map((o) => o.summary)).toContain('state 4 Connected, num_devs 2, 0000:01:00.0 state-0 3 Initialised, 0000:01:00.1 state-1 3 Initialised');
    expect(await backend.passthroughDevices('vm-a')).toEqual(gpu);
  });

  it('detaches non-zero functions first and confirms them gone', async () => {
    const { backend, xl } = fake();
    await backend.attachGpu('vm-a', { functions: gpu });
    expect(await backend.detachGpu('vm-a', gpu, { deadlineMs: 5_000 })).toEqual({ removed: ['0000:01:00.1', '0000:01:00.0'], alreadyAbsent: [] });
    expect(xl().slice(-2)).toEqual(['pci-detach vm-a 0000:01:00.1', 'pci-detach vm-a 0000:01:00.0']);
    expect(await backend.passthroughDevices('vm-a')).toEqual([]);
  });

  it('refuses at once to detach from a paused guest unless forced, and refuses a forced multi-function detach too', async () => {
    const { backend, xl } = fake();
    await backend.attachGpu('vm-a', { functions: gpu });
    await backend.pause('vm-a');
    const refused = await backend.detachGpu('vm-a', gpu, { deadlineMs: 5_000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(VmNotRunningError);
    expect((refused as Error).message).toMatch(/paused.*resume vm-a, or configure release: force-detach/);
    // The lab showed a second forced detach from a paused guest removes nothing: refuse, touch nothing.
    const forced = await backend.detachGpu('vm-a', gpu, { deadlineMs: 5_000, force: true }).catch((e: unknown) => e);
    expect(forced).toBeInstanceOf(VmNotRunningError);
    expect((forced as Error).message).toMatch(/must move together; resume vm-a first/);
    expect(xl().some((c) => c.startsWith('pci-detach'))).toBe(false);
    expect(await backend.passthroughDevices('vm-a')).toEqual(gpu);
  });

  it('force-detaches a single function from a paused guest and tidies its keys once the guest runs', async () => {
    const { backend, xl, read } = fake();
    const vga = [gpu[0] as PciAddress];
    await backend.attachGpu('vm-a', { functions: vga });
    await backend.pause('vm-a');
    expect(await backend.detachGpu('vm-a', vga, { deadlineMs: 5_000, force: true })).toEqual({ removed: vga, alreadyAbsent: [] });
    expect(xl().filter((c) => c.startsWith('pci-detach'))).toEqual(['pci-detach -f vm-a 0000:01:00.0']);
    // libxl left it at Closing; the backend counts it out while vm-a is paused …
    expect(read().xenstore['1']?.['state-0']).toBe('5');
    expect(await backend.passthroughDevices('vm-a')).toEqual([]);
    // … and removes the keys once vm-a runs again and the backend is Connected.
    await backend.resume('vm-a');
    expect(await backend.passthroughDevices('vm-a')).toEqual([]);
    expect(read().xenstore['1']).toEqual({ state: '4', num_devs: '0' });
  });

  it('reports a detach the guest never answers with where the backend stopped, without waiting out the deadline', async () => {
    const { backend } = fake({ guestIgnores: true });
    await backend.attachGpu('vm-a', { functions: [gpu[0] as PciAddress] });
    const error = await backend.detachGpu('vm-a', gpu, { deadlineMs: 600_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestDidNotReleaseError);
    expect((error as GuestDidNotReleaseError).pendingDevices).toEqual(['0000:01:00.0']);
    expect((error as Error).message).toContain('state 7 Reconfiguring, num_devs 1, 0000:01:00.0 state-0 5 Closing');
    expect((error as Error).message).toContain('libxl has given up waiting');
    expect((error as GuestDidNotReleaseError).hypervisorMessage).toMatch(/not ready/);
  });

  it('times out an export that stays Initialising, saying where, and takes back what it attached', async () => {
    const { backend, xl } = fake({ exportStalls: true }, { attachTimeoutMs: 300 });
    const error = await backend.attachGpu('vm-a', { functions: gpu }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmTimeoutError);
    expect((error as Error).message).toContain('state 7 Reconfiguring, num_devs 1, 0000:01:00.0 state-0 1 Initialising');
    expect(xl().at(-1)).toBe('pci-detach vm-a 0000:01:00.0');
  });

  it('reports an absent domain as shut off, holding nothing; refuses a bad request', async () => {
    const { backend } = fake();
    expect(await backend.state('vm-off')).toEqual({ state: 'shut-off', raw: 'absent' });
    expect(await backend.detachGpu('vm-off', gpu, { deadlineMs: 1000 })).toEqual({ removed: [], alreadyAbsent: gpu });
    await expect(backend.attachGpu('vm-a', { functions: ['0000:01:00.1' as PciAddress] })).rejects.toMatchObject({ kind: 'invalid-request' });
    await expect(backend.attachGpu('vm-off', { functions: gpu })).rejects.toMatchObject({ kind: 'not-running' });
    expect((await backend.listVms()).map((v) => `${v.name} ${v.state}`)).toEqual(['vm-a running', 'vm-b running', 'vm-off shut-off']);
  });

  it('shutdown is a request: a guest that ignores it keeps running, and only forceAfterMs destroys it', async () => {
    const { backend, read } = fake({ guestIgnoresShutdown: true });
    const abandoned = await backend.shutdown('vm-a', { deadlineMs: 300 }).catch((e: unknown) => e);
    expect(abandoned).toBeInstanceOf(VmTimeoutError);
    expect((abandoned as Error).message).toContain('the move is abandoned and vm-a keeps running');
    expect(read().domains.map((d) => d.name)).toContain('vm-a');
    expect(read().calls.some((c) => c[1] === 'destroy')).toBe(false);
    expect(await backend.shutdown('vm-a', { deadlineMs: 300, forceAfterMs: 300 })).toEqual({ outcome: 'forced' });
    expect(read().domains.map((d) => d.name)).not.toContain('vm-a');
  });

  it('a guest that does shut down is graceful, and never destroyed', async () => {
    const { backend, read } = fake();
    expect(await backend.shutdown('vm-b', { deadlineMs: 5_000 })).toEqual({ outcome: 'graceful' });
    expect(read().calls.some((c) => c[1] === 'destroy')).toBe(false);
    expect(await backend.shutdown('vm-b', { deadlineMs: 5_000 })).toEqual({ outcome: 'already-off' });
  });
});
