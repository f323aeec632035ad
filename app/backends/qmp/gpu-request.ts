// Checks an AttachGpuRequest and turns it into vfio-pci functions for one guest slot.
import { functionOf, isCanonicalPciAddress, slotOf, type PciAddress } from '../../domain/pci-address.js';
import { VmInvalidRequestError } from '../../domain/vm/errors.js';
import type { AttachGpuRequest, GuestSlot } from '../../domain/vm/port.js';
import { gpuDeviceId, guestPciAddr } from './device-ids.js';
import type { SlotFunction } from './slot-plug.js';

export function vfioFunctions(vm: string, request: AttachGpuRequest): SlotFunction[] {
  const fail = (why: string) => new VmInvalidRequestError(`${vm}: cannot attach ${request.functions.join(', ') || 'nothing'}: ${why}`, { vm, hypervisor: 'qmp' });
  const [first] = request.functions;
  if (!first) throw fail('no functions given');
  for (const address of request.functions) if (!isCanonicalPciAddress(address)) throw fail(`${address} is not a canonical PCI address`);
  if (functionOf(first) !== 0) throw fail('function 0 must come first');
  if (request.functions.some((a) => slotOf(a) !== slotOf(first))) throw fail('functions of more than one slot');
  if (new Set(request.functions).size !== request.functions.length) throw fail('a function is listed twice');
  return request.functions.map((host: PciAddress) => ({
    id: gpuDeviceId(host),
    driver: 'vfio-pci',
    function: functionOf(host),
    properties: {
      host,
      ...(functionOf(host) === 0 && request.romFile !== undefined ? { romfile: request.romFile } : {}),
    },
  }));
}

/** The same functions as -device arguments, for a cold start (order does not matter then). */
export function vfioDeviceArgs(functions: readonly SlotFunction[], slot: GuestSlot): string[] {
  // QEMU option values escape a comma by doubling it.
  const value = (v: string | number | boolean) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v).replaceAll(',', ',,'));
  return functions.flatMap((fn) => {
    const properties: Record<string, string | number | boolean> = {
      ...fn.properties,
      id: fn.id,
      bus: slot.bus,
      addr: guestPciAddr(slot.slot, fn.function),
      ...(fn.function === 0 && functions.length > 1 ? { multifunction: true } : {}),
    };
    return ['-device', [fn.driver, ...Object.entries(properties).map(([k, v]) => `${k}=${value(v)}`)].join(',')];
  });
}
