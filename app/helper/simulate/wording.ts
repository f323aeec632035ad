// How each hypervisor names its commands, states and failures, so simulated errors read like the
// real backends' (QMP "QMP device_add on win11: ...", libvirt's virError texts, xl's stderr).
import type { PciAddress } from '../../domain/pci-address.js';
import type { Hypervisor } from '../../domain/vm/errors.js';
import type { VmState } from '../../domain/vm/port.js';
import type { VmOperation } from './faults.js';

export const COMMANDS: Record<Hypervisor, Record<VmOperation, string>> = {
  qmp: {
    attach: 'device_add', detach: 'device_del', shutdown: 'system_powerdown', start: 'launch', pause: 'stop', resume: 'cont',
    passthroughDevices: 'qom-list', state: 'query-status',
  },
  libvirt: {
    attach: 'virDomainAttachDevice', detach: 'virDomainDetachDevice', shutdown: 'virDomainShutdown', start: 'virDomainCreate',
    pause: 'virDomainSuspend', resume: 'virDomainResume', passthroughDevices: 'virDomainGetXMLDesc', state: 'virDomainGetState',
  },
  xen: {
    attach: 'xl pci-attach', detach: 'xl pci-detach', shutdown: 'xl shutdown', start: 'xl create', pause: 'xl pause', resume: 'xl unpause',
    passthroughDevices: 'xl pci-list', state: 'xl list',
  },
};

/** The class or code the hypervisor reports with a failure. */
export const ERROR_CLASS: Record<Hypervisor, string> = { qmp: 'GenericError', libvirt: 'VIR_ERR_OPERATION_FAILED', xen: 'exit status 1' };

export function commandMessage(hypervisor: Hypervisor, operation: VmOperation, vm: string, text: string): string {
  const command = COMMANDS[hypervisor][operation];
  switch (hypervisor) {
    case 'qmp': return `QMP ${command} on ${vm}: ${text}`;
    case 'libvirt': return `libvirt ${command} on ${vm}: ${text}`;
    case 'xen': return `${command} ${vm}: ${text}`;
  }
}

export function rawState(hypervisor: Hypervisor, state: VmState): string {
  const words: Record<Hypervisor, Record<VmState, string>> = {
    qmp: { running: 'running', paused: 'paused', 'shut-off': 'no-qmp-listener', crashed: 'guest-panicked', starting: 'prelaunch', unknown: 'unknown' },
    libvirt: { running: 'running', paused: 'paused', 'shut-off': 'shut off', crashed: 'crashed', starting: 'running', unknown: 'no state' },
    xen: { running: 'r-----', paused: '--p---', 'shut-off': 'not-listed', crashed: '----c-', starting: '------', unknown: '------' },
  };
  return words[hypervisor][state];
}

/** The hypervisor's device id for a passed-through host function. */
export function deviceIdFor(hypervisor: Hypervisor, address: PciAddress): string {
  const [, bus = '', slotFn = ''] = address.split(':');
  const [slot = '', fn = ''] = slotFn.split('.');
  const short = `${address.startsWith('0000:') ? '' : `${address.slice(0, 4)}-`}${bus}-${slot}-${fn}`;
  switch (hypervisor) {
    case 'qmp': return `baton-gpu-${short}`;
    case 'libvirt': return `ua-baton-gpu-${short}`;
    case 'xen': return address;
  }
}

/** What each hypervisor says when it cannot plug a function (the world's PlugProblem, in its words). */
export const PLUG_TEXT: Record<Hypervisor, {
  notOnVfio: (address: PciAddress, group: number) => string;
  heldElsewhere: (address: PciAddress, group: number, holder: string) => string;
  alreadyHeld: (address: PciAddress, deviceId: string, vm: string) => string;
  unknown: (address: PciAddress) => string;
  slotOccupied: (bus: string, slot: number) => string;
}> = {
  qmp: {
    notOnVfio: (address, group) => `vfio ${address}: group ${group} is not viable\nPlease ensure all devices within the iommu_group are bound to their vfio bus driver.`,
    heldElsewhere: (address, group) => `vfio ${address}: failed to open /dev/vfio/${group}: Device or resource busy`,
    alreadyHeld: (_address, deviceId) => `Duplicate device ID '${deviceId}'`,
    unknown: (address) => `vfio ${address}: no such host device: No such file or directory`,
    slotOccupied: (bus, slot) => `PCI: slot ${slot} function 0 not available for vfio-pci, in use by vfio-pci (bus ${bus})`,
  },
  libvirt: {
    notOnVfio: (address, group) => `internal error: unable to execute QEMU command 'device_add': vfio ${address}: group ${group} is not viable`,
    heldElsewhere: (address, _group, holder) => `Requested operation is not valid: PCI device ${address} is in use by driver QEMU, domain ${holder}`,
    alreadyHeld: (address, _deviceId, vm) => `Requested operation is not valid: PCI device ${address} is in use by driver QEMU, domain ${vm}`,
    unknown: (address) => `Device ${address} not found: could not access /sys/bus/pci/devices/${address}/config: No such file or directory`,
    slotOccupied: (bus, slot) => `XML error: Attempted double use of PCI Address ${bus}:${slot.toString(16).padStart(2, '0')}.0`,
  },
  xen: {
    notOnVfio: (address) => `libxl: error: libxl_pci.c: PCI device ${address} is not assignable`,
    heldElsewhere: (address, _group, holder) => `libxl: error: libxl_pci.c: PCI device ${address} already assigned to domain ${holder}`,
    alreadyHeld: (address, _deviceId, vm) => `libxl: error: libxl_pci.c: PCI device ${address} already assigned to domain ${vm}`,
    unknown: (address) => `libxl: error: libxl_pci.c: Couldn't open /sys/bus/pci/devices/${address}`,
    slotOccupied: (bus, slot) => `libxl: error: libxl_pci.c: virtual slot ${slot} on ${bus} is already in use`,
  },
};

/** The text an injected "error" fault produces, per operation. */
export const FAULT_TEXT: Record<Hypervisor, Partial<Record<VmOperation, string>>> = {
  qmp: {
    attach: 'vfio 0000:00:00.0: failed to setup container: Failed to set iommu for container: Operation not permitted',
    shutdown: 'guest is not responding to ACPI events',
    start: 'qemu-system-x86_64: cannot set up guest memory \'pc.ram\': Cannot allocate memory',
    pause: 'Guest is busy',
    resume: 'Resetting the Virtual Machine is required',
    state: 'Unable to read from socket: Connection reset by peer',
    passthroughDevices: 'Unable to read from socket: Connection reset by peer',
  },
  libvirt: {
    attach: 'internal error: unable to execute QEMU command \'device_add\': vfio: failed to setup container: Operation not permitted',
    shutdown: 'Timed out during operation: cannot acquire state change lock',
    start: 'internal error: process exited while connecting to monitor: Cannot allocate memory',
    pause: 'operation failed: domain is already being migrated',
    resume: 'internal error: unable to execute QEMU command \'cont\': Resetting the Virtual Machine is required',
    state: 'End of file while reading data: Input/output error',
    passthroughDevices: 'End of file while reading data: Input/output error',
  },
  xen: {
    attach: 'libxl: error: libxl_pci.c: xc_assign_device failed: Operation not permitted',
    shutdown: 'libxl: error: libxl_domain.c: PV control interface not available',
    start: 'libxl: error: libxl_create.c: cannot (re-)build domain: -3',
    pause: 'libxl: error: libxl_domain.c: unable to pause domain',
    resume: 'libxl: error: libxl_domain.c: unable to unpause domain',
    state: 'libxl: error: libxl.c: cannot open libxc handle: Permission denied',
    passthroughDevices: 'libxl: error: libxl.c: cannot open libxc handle: Permission denied',
  },
};
