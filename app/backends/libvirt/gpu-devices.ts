// A GPU request → libvirt <hostdev> elements, one per host function, with guest addresses.
import { attachRequestProblem } from '../../domain/vm/attach-request.js';
import { functionOf, type PciAddress } from '../../domain/pci-address.js';
import { VmInvalidRequestError } from '../../domain/vm/errors.js';
import type { AttachGpuRequest, GuestSlot } from '../../domain/vm/port.js';
import type { GuestPciAddress } from './domain-xml.js';
import { escapeXml } from './xml.js';

/**
 * slot-per-function: every host function is function 0 of its own root port. libvirt (9.0) hot-plugs
 *   only function 0 ("Only PCI device addresses with function=0 are supported") and refuses to
 *   hot-unplug anything in a multi-function slot, so this is the only layout that moves live.
 * multifunction: one guest slot, functions kept; possible only as a cold plug at start, and libvirt
 *   releases it only when the VM stops.
 */
export type GpuLayout = 'slot-per-function' | 'multifunction';

export interface PlacedHostdev {
  host: PciAddress;
  /** User alias (libvirt requires the "ua-" prefix); it is also QEMU's device id. */
  alias: string;
  guest: GuestPciAddress;
  romFile?: string;
}

/** "0000:01:00.1" → "ua-baton-gpu-0000-01-00-1". */
export function gpuAlias(host: PciAddress): string {
  return `ua-baton-gpu-${host.replace(/[:.]/g, '-')}`;
}

/** "pci.3" (libvirt's root-port alias, QEMU's bus id) or a bus number ("3", "0x03") → 3; null if neither. */
export function guestBusNumber(bus: string): number | null {
  const m = /^(?:pci\.([0-9]{1,3})|(0x[0-9a-fA-F]{1,2})|([0-9]{1,3}))$/.exec(bus);
  if (!m) return null;
  const value = m[2] !== undefined ? parseInt(m[2], 16) : Number(m[1] ?? m[3]);
  return value <= 0xff ? value : null;
}

/** Checks a request: canonical addresses, one host slot, function 0 first, no repeats, a sane ROM path. */
export function gpuFunctions(vm: string, request: AttachGpuRequest): PciAddress[] {
  const fail = (why: string) => new VmInvalidRequestError(
    `${vm}: cannot attach ${request.functions.join(', ') || 'nothing'}: ${why}`, { vm, hypervisor: 'libvirt' });
  const problem = attachRequestProblem(request);
  if (problem) throw fail(problem);
  if (request.romFile !== undefined && (!request.romFile.startsWith('/') || request.romFile.includes('\0'))) {
    throw fail(`ROM file ${JSON.stringify(request.romFile)} is not an absolute path`);
  }
  if (request.guestSlot && (!Number.isInteger(request.guestSlot.slot) || request.guestSlot.slot < 0 || request.guestSlot.slot > 0x1f)) {
    throw fail(`guest slot ${request.guestSlot.slot} is not 0-31`);
  }
  return [...request.functions];
}

/**
 * Guest addresses for the functions. `buses`: one bus for multifunction, else one per function
 * (the first is the requested slot's bus).
 */
export function placeGpu(functions: readonly PciAddress[], slot: GuestSlot, buses: readonly number[], layout: GpuLayout,
  romFile?: string): PlacedHostdev[] {
  return functions.map((host, i) => {
    const fn = functionOf(host);
    const guest: GuestPciAddress = layout === 'multifunction'
      ? { bus: buses[0] ?? 0, slot: slot.slot, function: fn, multifunction: fn === 0 && functions.length > 1 }
      : { bus: buses[i] ?? 0, slot: i === 0 ? slot.slot : 0, function: 0, multifunction: false };
    return { host, alias: gpuAlias(host), guest, ...(fn === 0 && romFile !== undefined ? { romFile } : {}) };
  });
}

function addressAttributes(domain: number, bus: number, slot: number, fn: number): string {
  const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
  return `domain='${hex(domain, 4)}' bus='${hex(bus, 2)}' slot='${hex(slot, 2)}' function='${hex(fn, 1)}'`;
}

/** managed='no': Baton binds the host side to vfio-pci itself, libvirt must not touch the driver. */
export function hostdevXml(device: PlacedHostdev): string {
  const [domain = '0', bus = '0', slotFn = '0.0'] = device.host.split(':');
  const [slot = '0', fn = '0'] = slotFn.split('.');
  const source = addressAttributes(parseInt(domain, 16), parseInt(bus, 16), parseInt(slot, 16), Number(fn));
  const g = device.guest;
  const guest = `type='pci' ${addressAttributes(0, g.bus, g.slot, g.function)}${g.multifunction ? ` multifunction='on'` : ''}`;
  return [
    `<hostdev mode='subsystem' type='pci' managed='no'>`,
    `  <driver name='vfio'/>`,
    `  <source><address ${source}/></source>`,
    ...(device.romFile === undefined ? [] : [`  <rom bar='on' file='${escapeXml(device.romFile)}'/>`]),
    `  <alias name='${escapeXml(device.alias)}'/>`,
    `  <address ${guest}/>`,
    `</hostdev>`,
  ].join('\n');
}
