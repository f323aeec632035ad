// Checks an AttachGpuRequest and turns it into vfio-pci functions for one guest slot.
import { attachRequestProblem } from '../../domain/vm/attach-request.js';
import { functionOf, type PciAddress } from '../../domain/pci-address.js';
import { VmInvalidRequestError } from '../../domain/vm/errors.js';
import type { AttachGpuRequest, GuestSlot } from '../../domain/vm/port.js';
import { gpuDeviceId, guestPciAddr } from './device-ids.js';
import type { SlotFunction } from './slot-plug.js';

export function vfioFunctions(vm: string, request: AttachGpuRequest): SlotFunction[] {
  const fail = (why: string) => new VmInvalidRequestError(`${vm}: cannot attach ${request.functions.join(', ') || 'nothing'}: ${why}`, { vm, hypervisor: 'qmp' });
  const problem = attachRequestProblem(request);
  if (problem) throw fail(problem);
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
