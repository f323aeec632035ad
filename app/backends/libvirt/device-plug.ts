// Live hot-plug and unplug of any device type through libvirt, each confirmed in the live domain XML
// (libvirt's word is not enough: detach-device reports success after 5 s whether or not the guest let go).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GuestDidNotReleaseError, VmCommandFailedError, VmProtocolError, isVmBackendError } from '../../domain/vm/errors.js';
import { parseDomainXml, type DomainFacts } from './domain-xml.js';
import { runVirsh, type VirshTarget } from './virsh.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface DomainHandle {
  target: VirshTarget;
  /** libvirt's domain name (or UUID). */
  domain: string;
  commandTimeoutMs: number;
  virshPath?: string;
}

export interface DeviceToPlug {
  /** User alias ("ua-…") written into the XML; how the device is found and removed later. */
  alias: string;
  xml: string;
  /** What errors name: a host PCI address, or the alias. */
  label: string;
}

export interface DeviceToUnplug {
  alias: string;
  label: string;
}

const POLL_MS = 100;

export function virsh(handle: DomainHandle, args: readonly string[], device?: string): Promise<string> {
  return runVirsh(handle.target, args, {
    timeoutMs: handle.commandTimeoutMs,
    ...(device === undefined ? {} : { device }),
    ...(handle.virshPath === undefined ? {} : { virshPath: handle.virshPath }),
  });
}

/** The domain's current XML (live when it runs, else its definition), parsed. */
export async function domainFacts(handle: DomainHandle, options: { inactive?: boolean } = {}): Promise<DomainFacts> {
  const xml = await virsh(handle, ['dumpxml', ...(options.inactive ? ['--inactive'] : []), '--domain', handle.domain]);
  try {
    return parseDomainXml(xml);
  } catch (error) {
    throw new VmProtocolError(`${handle.target.vm}: libvirt returned a domain XML that cannot be read: ${(error as Error).message}`,
      { vm: handle.target.vm, hypervisor: 'libvirt', cause: error });
  }
}

/** Runs fn with the XML written to a private temporary file (virsh reads device and domain XML from files). */
export async function withXmlFile<T>(xml: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-libvirt-'));
  try {
    const file = path.join(dir, 'device.xml');
    await fs.writeFile(file, xml, { mode: 0o600 });
    return await fn(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Hot-plugs the devices in the given order and checks each is in the live XML; undoes what it added on failure. */
export async function plugDevices(handle: DomainHandle, devices: readonly DeviceToPlug[]): Promise<void> {
  const added: DeviceToPlug[] = [];
  try {
    for (const device of devices) {
      await withXmlFile(device.xml, (file) => virsh(handle, ['attach-device', '--domain', handle.domain, '--file', file, '--live'], device.label));
      added.push(device);
    }
    const present = new Set((await domainFacts(handle)).aliases);
    const missing = devices.filter((d) => !present.has(d.alias));
    if (missing.length > 0) {
      throw new VmCommandFailedError(
        `${handle.target.vm}: libvirt reported ${missing.map((d) => d.label).join(', ')} attached, but the live domain does not list it`,
        { vm: handle.target.vm, hypervisor: 'libvirt', device: missing.map((d) => d.label).join(', ') });
    }
  } catch (error) {
    // Best effort: a half-attached GPU must not stay in the guest. The original error is what matters.
    for (const device of added.reverse()) {
      await virsh(handle, ['detach-device-alias', '--domain', handle.domain, '--alias', device.alias, '--live']).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * Asks libvirt to remove each device (detach-device-alias: asynchronous, no 5 s wait), then polls the
 * live XML until every alias is gone or the VM stopped. At the deadline: GuestDidNotReleaseError.
 */
export async function unplugAndConfirm(handle: DomainHandle, devices: readonly DeviceToUnplug[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (const device of devices) {
    await virsh(handle, ['detach-device-alias', '--domain', handle.domain, '--alias', device.alias, '--live'], device.label)
      .catch((error: unknown) => {
        // A removal asked for earlier and still under way is what we want: wait for it like the others.
        if (isVmBackendError(error) && /already in the process of unplug|unplug .* in progress/i.test(error.hypervisorMessage ?? '')) return;
        throw error;
      });
  }
  let pending: readonly DeviceToUnplug[] = devices;
  for (;;) {
    const facts = await domainFacts(handle);
    if (!facts.active) return;
    const present = new Set(facts.aliases);
    pending = pending.filter((d) => present.has(d.alias));
    if (pending.length === 0) return;
    if (Date.now() >= deadline) break;
    await waitedOn(new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now())))));
  }
  const labels = pending.map((d) => d.label);
  throw new GuestDidNotReleaseError(
    `${handle.target.vm}: the guest did not release ${labels.join(', ')} within ${deadlineMs} ms (still in the live domain XML)`,
    { vm: handle.target.vm, hypervisor: 'libvirt', device: labels.join(', ') }, labels, deadlineMs);
}
