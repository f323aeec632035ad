// Typed failures every VM backend (QMP, libvirt, Xen) reports, so callers can decide without parsing text.

export type Hypervisor = 'qmp' | 'libvirt' | 'xen';

export type VmErrorKind =
  | 'not-found'
  | 'not-running'
  | 'already-running'
  | 'timeout'
  | 'device-busy'
  | 'guest-did-not-release'
  | 'connection-lost'
  | 'protocol-error'
  | 'command-failed'
  | 'invalid-request'
  | 'start-failed';

export interface VmErrorContext {
  vm: string;
  hypervisor: Hypervisor;
  /** The device concerned: a host PCI address or the hypervisor's device id. */
  device?: string;
  /** The hypervisor's own words, verbatim, for logs and support. */
  hypervisorMessage?: string;
  /** The hypervisor's error class or code (QMP "class", libvirt error code, xl exit status). */
  hypervisorErrorClass?: string;
  cause?: unknown;
}

export abstract class VmBackendError extends Error {
  abstract readonly kind: VmErrorKind;
  readonly vm: string;
  readonly hypervisor: Hypervisor;
  readonly device?: string;
  readonly hypervisorMessage?: string;
  readonly hypervisorErrorClass?: string;

  constructor(message: string, context: VmErrorContext) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.vm = context.vm;
    this.hypervisor = context.hypervisor;
    if (context.device !== undefined) this.device = context.device;
    if (context.hypervisorMessage !== undefined) this.hypervisorMessage = context.hypervisorMessage;
    if (context.hypervisorErrorClass !== undefined) this.hypervisorErrorClass = context.hypervisorErrorClass;
  }
}

/** The VM, or a device in it, does not exist. */
export class VmNotFoundError extends VmBackendError {
  readonly kind = 'not-found';
  constructor(message: string, context: VmErrorContext, readonly target: 'vm' | 'device' = 'vm') {
    super(message, context);
  }
}

export class VmNotRunningError extends VmBackendError {
  readonly kind = 'not-running';
}

export class VmAlreadyRunningError extends VmBackendError {
  readonly kind = 'already-running';
}

/** A request passed its deadline; `operation` names what was waited for. */
export class VmTimeoutError extends VmBackendError {
  readonly kind = 'timeout';
  constructor(message: string, context: VmErrorContext, readonly operation: string, readonly deadlineMs: number) {
    super(message, context);
  }
}

/** The device or slot is in use, or an unplug is already under way. */
export class VmDeviceBusyError extends VmBackendError {
  readonly kind = 'device-busy';
}

/** The guest was asked to let go of a device and did not confirm before the deadline. */
export class GuestDidNotReleaseError extends VmBackendError {
  readonly kind = 'guest-did-not-release';
  constructor(message: string, context: VmErrorContext, readonly pendingDevices: readonly string[], readonly deadlineMs: number) {
    super(message, context);
  }
}

export class VmConnectionLostError extends VmBackendError {
  readonly kind = 'connection-lost';
}

/** The peer said something that is not the protocol (bad JSON, wrong shape, oversized, wrong mode). */
export class VmProtocolError extends VmBackendError {
  readonly kind = 'protocol-error';
}

/** The hypervisor refused a command; `hypervisorErrorClass` says how. */
export class VmCommandFailedError extends VmBackendError {
  readonly kind = 'command-failed';
}

/** The caller asked for something that cannot be done (e.g. functions from two slots). */
export class VmInvalidRequestError extends VmBackendError {
  readonly kind = 'invalid-request';
}

export class VmStartFailedError extends VmBackendError {
  readonly kind = 'start-failed';
}

export function isVmBackendError(error: unknown): error is VmBackendError {
  return error instanceof VmBackendError;
}
