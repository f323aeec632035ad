// Relayed inputs (issue 12) through a QEMU monitor: object-add / object-del of input-linux
// (input-object.ts). Shared by the QMP backend (its own socket) and the libvirt backend (the same
// commands through `virsh qemu-monitor-command`, since libvirt refuses to hot-plug an evdev input).
import { isVmBackendError, VmInvalidRequestError, type Hypervisor } from '../../domain/vm/errors.js';
import type { VmInputs, VmName } from '../../domain/vm/port.js';
import { GRAB_TOGGLES, inputLinuxAdd, inputLinuxDel, type GrabToggle, type QmpCommand } from './input-object.js';

const isGrabToggle = (s: string): s is GrabToggle => Object.prototype.hasOwnProperty.call(GRAB_TOGGLES, s);

export function monitorInputs(hypervisor: Hypervisor, execute: (vm: VmName, command: QmpCommand) => Promise<unknown>): VmInputs {
  return {
    async add(vm, input) {
      let command: QmpCommand;
      try {
        if (input.grabToggle !== undefined && !isGrabToggle(input.grabToggle)) throw new Error(`${JSON.stringify(input.grabToggle)} is not a QEMU grab-toggle (${Object.keys(GRAB_TOGGLES).join(', ')})`);
        command = inputLinuxAdd({ id: input.id, evdev: input.evdev, ...(input.grabToggle !== undefined ? { grabToggle: input.grabToggle } : {}) });
      } catch (err) {
        throw new VmInvalidRequestError(`${vm}: ${(err as Error).message}`, { vm, hypervisor, cause: err });
      }
      await execute(vm, command);
    },
    async remove(vm, id) {
      let command: QmpCommand;
      try {
        command = inputLinuxDel(id);
      } catch (err) {
        throw new VmInvalidRequestError(`${vm}: ${(err as Error).message}`, { vm, hypervisor, cause: err });
      }
      try {
        await execute(vm, command);
      } catch (err) {
        // QEMU: "object 'baton-input-kbd' not found": already gone, which is what was asked.
        if (isVmBackendError(err) && /not found/i.test(err.hypervisorMessage ?? err.message)) return;
        throw err;
      }
    },
  };
}
