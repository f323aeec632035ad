// The libvirt backend against a real libvirtd (QEMU driver, guestless TCG domains).
import { afterAll, afterEach, expect, it } from 'vitest';
import { describeOrSkip } from '../../../support/skip.js';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import {
  GuestDidNotReleaseError, VmAlreadyRunningError, VmCommandFailedError, VmConnectionLostError, VmDeviceBusyError,
  VmInvalidRequestError, VmNotFoundError, VmNotRunningError, VmStartFailedError,
  VmTimeoutError,
} from '../../../../app/domain/vm/errors.js';
import type { VmEvent } from '../../../../app/domain/vm/port.js';
import { LibvirtBackend, type LibvirtVmConfig } from '../../../../app/backends/libvirt/backend.js';
import { domainFacts, plugDevices, unplugAndConfirm, type DomainHandle } from '../../../../app/backends/libvirt/device-plug.js';
import { parseDomainXml } from '../../../../app/backends/libvirt/domain-xml.js';
import { defineDomain, liveXml, removeDomains, startDaemon, stopDaemon, SYSTEM_URI, virshRaw, writeTemp } from './libvirtd-harness.js';

const daemon = await startDaemon();

const backends: LibvirtBackend[] = [];
function backendFor(...vms: LibvirtVmConfig[]): LibvirtBackend {
  const backend = new LibvirtBackend({ vms, commandTimeoutMs: 20_000 });
  backends.push(backend);
  return backend;
}
const vmOf = (domain: string): LibvirtVmConfig => ({ name: `vm-${domain}`, uri: SYSTEM_URI, domain });
const handleOf = (domain: string): DomainHandle => ({ target: { vm: domain, uri: SYSTEM_URI }, domain, commandTimeoutMs: 20_000 });
const nicXml = (alias: string, extra = '') => `<interface type='user'><model type='e1000e'/><alias name='${alias}'/>${extra}</interface>`;

async function cleanup(): Promise<void> {
  for (const backend of backends.splice(0)) await backend.close();
  await removeDomains();
}
afterEach(cleanup, 60_000);
afterAll(async () => {
  await cleanup();
  await stopDaemon(daemon);
}, 60_000);

async function expectRejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  return error as T;
}

describeOrSkip(daemon.unavailable, 'libvirt backend against a real libvirtd', () => {
  it('follows a domain through define, start, suspend, resume and destroy', async () => {
    const domain = await defineDomain();
    const vm = vmOf(domain);
    const backend = backendFor(vm, { name: 'ghost', uri: SYSTEM_URI, domain: 'baton-no-such-domain' });
    expect(await backend.state(vm.name)).toEqual({ state: 'shut-off', raw: 'shut off (unknown)' });
    expect(await backend.start(vm.name, {})).toEqual({ pid: null });
    expect(await backend.state(vm.name)).toEqual({ state: 'running', raw: 'running (booted)' });
    await backend.pause(vm.name);
    expect(await backend.state(vm.name)).toEqual({ state: 'paused', raw: 'paused (user)' });
    expect(await backend.listVms()).toEqual([
      { name: vm.name, hypervisor: 'libvirt', state: 'paused', raw: 'paused (user)' },
      { name: 'ghost', hypervisor: 'libvirt', state: 'unknown', raw: 'not-found' },
    ]);
    await backend.resume(vm.name);
    expect(await backend.state(vm.name)).toEqual({ state: 'running', raw: 'running (unpaused)' });
    await expectRejection(backend.start(vm.name, {}), VmAlreadyRunningError);
    expect((await virshRaw(['destroy', domain])).code).toBe(0);
    expect(await backend.state(vm.name)).toEqual({ state: 'shut-off', raw: 'shut off (destroyed)' });
    const notRunning = await expectRejection(backend.pause(vm.name), VmNotRunningError);
    expect(notRunning.hypervisorMessage).toContain('domain is not running');
    expect(notRunning.hypervisorErrorClass).toBe('Requested operation is not valid');
  });

  it('reports lifecycle events for configured domains only', async () => {
    const [domain, ready, unconfigured] = [await defineDomain(), await defineDomain(), await defineDomain()];
    const vm = vmOf(domain);
    const backend = backendFor(vm, vmOf(ready));
    const events: VmEvent[] = [];
    const unsubscribe = backend.events((e) => events.push(e));
    const waitFor = async (what: (e: VmEvent) => boolean, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (!events.some(what) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    // virsh event registers its callbacks some time after it starts: start a domain until one shows up.
    for (let tries = 0; tries < 20 && !events.some((e) => e.vm === `vm-${ready}`); tries++) {
      await virshRaw(['destroy', ready]);
      await virshRaw(['start', ready]);
      await waitFor((e) => e.vm === `vm-${ready}`, 1_000);
    }
    await backend.start(vm.name, {});
    await virshRaw(['start', unconfigured]);
    await backend.pause(vm.name);
    await backend.resume(vm.name);
    await virshRaw(['destroy', domain]);
    await waitFor((e) => e.kind === 'state-changed' && e.vm === vm.name && e.state === 'shut-off');
    unsubscribe();
    const states = events.flatMap((e) => (e.kind === 'state-changed' && e.vm === vm.name ? [`${e.state}:${e.raw}`] : []));
    // libvirt sends "Resumed Unpaused" around "Started Booted" at start; the rest comes in order.
    expect(states.filter((s) => s !== 'running:Resumed Unpaused')).toEqual([
      'running:Started Booted',
      'paused:Suspended Paused',
      'shut-off:Stopped Destroyed',
    ]);
    expect(states.indexOf('running:Resumed Unpaused', states.indexOf('paused:Suspended Paused'))).toBeGreaterThan(0);
    expect(events.every((e) => e.vm === vm.name || e.vm === `vm-${ready}`)).toBe(true);
  });

  it('hot-plugs an emulated device through the generic path and sees it in the live XML', async () => {
    const domain = await defineDomain();
    await virshRaw(['start', domain]);
    const started = Date.now();
    await plugDevices(handleOf(domain), [{ alias: 'ua-test-nic', xml: nicXml('ua-test-nic'), label: 'test-nic' }]);
    const elapsed = Date.now() - started;
    console.info(`generic hot-plug of an e1000e with verification: ${elapsed} ms`);
    const facts = parseDomainXml(await liveXml(domain));
    expect(facts.aliases).toContain('ua-test-nic');
    // The NIC took the first free root port (bus 1); no passthrough device appeared.
    expect(facts.usedBuses.has(1)).toBe(true);
    expect(await backendFor(vmOf(domain)).passthroughDevices(`vm-${domain}`)).toEqual([]);
  });

  it('refuses a duplicate alias as busy and a non-zero function as libvirt does, naming the device', async () => {
    const domain = await defineDomain();
    await virshRaw(['start', domain]);
    const handle = handleOf(domain);
    await plugDevices(handle, [{ alias: 'ua-dup', xml: nicXml('ua-dup'), label: 'dup-nic' }]);
    const busy = await expectRejection(plugDevices(handle, [{ alias: 'ua-dup', xml: nicXml('ua-dup'), label: 'dup-nic' }]), VmDeviceBusyError);
    expect(busy.device).toBe('dup-nic');
    expect(busy.hypervisorMessage).toContain('non unique alias detected: ua-dup');
    const fn1 = nicXml('ua-fn1', `<address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x1'/>`);
    const refused = await expectRejection(plugDevices(handle, [{ alias: 'ua-fn1', xml: fn1, label: 'fn1-nic' }]), VmCommandFailedError);
    expect(refused.hypervisorMessage).toContain('Only PCI device addresses with function=0 are supported');
    expect(refused.hypervisorErrorClass).toBe('internal error');
    expect(refused.message).toContain(domain);
  });

  it('does not report removal while a guestless domain keeps the device, though virsh detach-device says success', async () => {
    const domain = await defineDomain();
    await virshRaw(['start', domain]);
    const handle = handleOf(domain);
    await plugDevices(handle, [{ alias: 'ua-stuck', xml: nicXml('ua-stuck'), label: 'stuck-nic' }]);
    const tmp = writeTemp(nicXml('ua-stuck'));
    try {
      const started = Date.now();
      const detached = await virshRaw(['detach-device', domain, tmp.file, '--live']);
      const virshMs = Date.now() - started;
      console.info(`virsh detach-device on a guestless domain: exit ${detached.code} after ${virshMs} ms`);
      expect(detached.code).toBe(0);
      expect(detached.stdout).toContain('Device detached successfully');
      expect(virshMs).toBeGreaterThanOrEqual(4_500); // libvirt's QEMU_UNPLUG_TIMEOUT
    } finally {
      tmp.remove();
    }
    // libvirt said success, yet the device is still there.
    expect(parseDomainXml(await liveXml(domain)).aliases).toContain('ua-stuck');
    const started = Date.now();
    const error = await expectRejection(unplugAndConfirm(handle, [{ alias: 'ua-stuck', label: 'stuck-nic' }], 1_500), GuestDidNotReleaseError);
    const waited = Date.now() - started;
    console.info(`unplugAndConfirm gave up after ${waited} ms (deadline 1500 ms)`);
    expect(error.pendingDevices).toEqual(['stuck-nic']);
    expect(error.deadlineMs).toBe(1_500);
    expect(waited).toBeGreaterThanOrEqual(1_500);
    expect(waited).toBeLessThan(6_000);
    expect(parseDomainXml(await liveXml(domain)).aliases).toContain('ua-stuck');
  }, 40_000);

  it('confirms removal at once when the domain stops while waiting', async () => {
    const domain = await defineDomain();
    await virshRaw(['start', domain]);
    const handle = handleOf(domain);
    await plugDevices(handle, [{ alias: 'ua-gone', xml: nicXml('ua-gone'), label: 'gone-nic' }]);
    const waiting = unplugAndConfirm(handle, [{ alias: 'ua-gone', label: 'gone-nic' }], 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await virshRaw(['destroy', domain]);
    await expect(waiting).resolves.toBeUndefined();
    expect((await domainFacts(handle)).active).toBe(false);
  });

  it('leaves a guestless domain running at the deadline, destroys it only with forceAfterMs, and reports already-off after', async () => {
    const domain = await defineDomain();
    const vm = vmOf(domain);
    const backend = backendFor(vm);
    await backend.start(vm.name, {});
    const abandoned = await backend.shutdown(vm.name, { deadlineMs: 1_500 }).catch((e: unknown) => e);
    expect(abandoned).toBeInstanceOf(VmTimeoutError);
    expect((abandoned as Error).message).toContain(`the move is abandoned and ${vm.name} keeps running`);
    expect(await backend.state(vm.name)).toMatchObject({ state: 'running' });
    expect(await backend.shutdown(vm.name, { deadlineMs: 1_500, forceAfterMs: 1_500 })).toEqual({ outcome: 'forced' });
    expect(await backend.state(vm.name)).toEqual({ state: 'shut-off', raw: 'shut off (destroyed)' });
    expect(await backend.shutdown(vm.name, { deadlineMs: 1_500 })).toEqual({ outcome: 'already-off' });
  });

  it('sends the GPU hostdevs to libvirt and reports its refusal naming VM and device', async () => {
    const domain = await defineDomain();
    const vm = vmOf(domain);
    const backend = backendFor(vm);
    await backend.start(vm.name, {});
    // No such host device here (no vfio lab): libvirt/QEMU refuse, and the error must say so.
    const functions = ['0000:0a:00.0', '0000:0a:00.1'] as PciAddress[];
    const error = await backend.attachGpu(vm.name, { functions }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(VmCommandFailedError);
    const failure = error as VmCommandFailedError;
    expect(failure.vm).toBe(vm.name);
    expect(failure.device).toBe('0000:0a:00.0');
    expect(failure.hypervisorMessage).toMatch(/error|fail|No such/i);
    console.info(`libvirt refused the hostdev: ${failure.hypervisorMessage}`);
    // Nothing stayed behind.
    expect(await backend.passthroughDevices(vm.name)).toEqual([]);
    const detached = await backend.detachGpu(vm.name, functions, { deadlineMs: 1_000 });
    expect(detached).toEqual({ removed: [], alreadyAbsent: functions });
  });

  it('rejects impossible GPU requests before talking to libvirt', async () => {
    const domain = await defineDomain({ rootPorts: 1 });
    const vm = vmOf(domain);
    const backend = backendFor(vm, { ...vmOf(domain), name: 'mf', gpuLayout: 'multifunction' });
    await expectRejection(backend.attachGpu(vm.name, { functions: ['0000:0a:00.0' as PciAddress] }), VmNotRunningError);
    await backend.start(vm.name, {});
    const two = ['0000:0a:00.0', '0000:0a:00.1'] as PciAddress[];
    const tooFew = await expectRejection(backend.attachGpu(vm.name, { functions: two }), VmInvalidRequestError);
    expect(tooFew.message).toContain('2 free pcie-root-ports');
    await expectRejection(backend.attachGpu('mf', { functions: two }), VmInvalidRequestError);
    await expectRejection(backend.attachGpu(vm.name, { functions: two, guestSlot: { bus: 'pci.7', slot: 0 } }), VmInvalidRequestError);
  });

  it('cold-plugs the GPU for one boot only: a failed start leaves the definition untouched', async () => {
    const domain = await defineDomain();
    const vm = vmOf(domain);
    const backend = backendFor({ ...vm, gpuLayout: 'multifunction' });
    const before = await virshRaw(['dumpxml', '--inactive', domain]);
    const error = await expectRejection(backend.start(vm.name, {
      withGpu: { functions: ['0000:0a:00.0', '0000:0a:00.1'] as PciAddress[], romFile: '/nonexistent/vbios.rom' },
    }), VmStartFailedError);
    console.info(`start with a missing host GPU: ${error.hypervisorMessage}`);
    expect(error.vm).toBe(vm.name);
    expect(error.hypervisorMessage).toBeTruthy();
    expect((await virshRaw(['dumpxml', '--inactive', domain])).stdout).toBe(before.stdout);
    expect(await backend.state(vm.name)).toMatchObject({ state: 'shut-off' });
  });

  it('names a missing domain with libvirt\'s message', async () => {
    const backend = backendFor({ name: 'ghost', uri: SYSTEM_URI, domain: 'baton-no-such-domain' });
    const error = await expectRejection(backend.state('ghost'), VmNotFoundError);
    expect(error.target).toBe('vm');
    expect(error.vm).toBe('ghost');
    expect(error.hypervisorMessage).toBe("failed to get domain 'baton-no-such-domain'");
    await expectRejection(backend.state('not-configured'), VmNotFoundError);
  });

  it('says clearly when no daemon listens on the URI', async () => {
    const backend = backendFor({ name: 'far', uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock', domain: 'x' });
    const error = await expectRejection(backend.state('far'), VmConnectionLostError);
    expect(error.message).toContain('failed to connect to the hypervisor');
    expect(error.hypervisorMessage).toContain("Failed to connect socket to '/nonexistent/libvirt-sock'");
    expect(await backend.listVms()).toEqual([{ name: 'far', hypervisor: 'libvirt', state: 'unknown', raw: 'connection-lost' }]);
  });
});
