// QMP error classes (qapi/error.json) → the port's typed errors.
import {
  VmCommandFailedError,
  VmDeviceBusyError,
  VmNotFoundError,
  VmProtocolError,
  type VmBackendError,
} from '../../domain/vm/errors.js';

export interface QmpErrorReply {
  errorClass: string;
  description: string;
  command: string;
  vm: string;
  device?: string;
}

// GenericError texts that mean "occupied / already under way", not "impossible".
const BUSY = [
  /already in the process of unplug/i,
  /guest is busy/i,
  /Duplicate device ID/i,
  /not available for .*, in use by/i,
  /already occupied by/i,
  // vfio-pci: another process (another VM) has the IOMMU group open.
  /Device or resource busy/i,
];

export function mapQmpError(reply: QmpErrorReply): VmBackendError {
  const context = {
    vm: reply.vm,
    hypervisor: 'qmp' as const,
    hypervisorMessage: reply.description,
    hypervisorErrorClass: reply.errorClass,
    ...(reply.device === undefined ? {} : { device: reply.device }),
  };
  const message = `QMP ${reply.command} on ${reply.vm}: ${reply.description}`;
  switch (reply.errorClass) {
    case 'CommandNotFound':
      // QEMU answers every command this way until qmp_capabilities; that is a session fault, not a missing command.
      return /capabilities negotiation/i.test(reply.description)
        ? new VmProtocolError(message, context)
        : new VmCommandFailedError(message, context);
    case 'DeviceNotFound':
      return new VmNotFoundError(message, context, 'device');
    case 'GenericError':
      return BUSY.some((pattern) => pattern.test(reply.description))
        ? new VmDeviceBusyError(message, context)
        : new VmCommandFailedError(message, context);
    default:
      // DeviceNotActive, KVMMissingCap and classes newer QEMUs may add.
      return new VmCommandFailedError(message, context);
  }
}
