// virsh's "error: …" stderr → the port's typed errors. virsh prints no error code, so the kind comes
// from libvirt's message text (forced to English with LC_ALL=C) and its leading error-number phrase.
import {
  VmAlreadyRunningError,
  VmCommandFailedError,
  VmConnectionLostError,
  VmDeviceBusyError,
  VmNotFoundError,
  VmNotRunningError,
  type VmBackendError,
  type VmErrorContext,
} from '../../domain/vm/errors.js';

export interface VirshFailure {
  vm: string;
  /** The virsh subcommand, e.g. "attach-device". */
  command: string;
  stderr: string;
  device?: string;
}

// virErrorMsg() phrases libvirt puts before the detail; the one found becomes hypervisorErrorClass.
const ERROR_CLASSES = [
  'internal error', 'operation failed', 'unsupported configuration', 'Requested operation is not valid',
  'invalid argument', 'Domain not found', 'Operation not supported', 'XML error', 'Timed out during operation',
  'device not found', 'operation forbidden', 'resource busy', 'authentication failed', 'XML document failed to validate against schema',
];

const CONNECTION = [/failed to connect to the hypervisor/i, /Failed to connect socket/i, /Cannot recv data/i,
  /End of file while reading data/i, /no connection driver available/i, /authentication failed/i, /Cannot write data/i,
  /client socket is closed/i];
const VM_MISSING = [/failed to get domain/i, /Domain not found/i, /no domain with matching/i];
const DEVICE_MISSING = [/no device found with alias/i, /device not found/i, /matching device not found/i, /not found in domain/i];
const NOT_RUNNING = [/domain is not running/i, /domain is not active/i];
const ALREADY_RUNNING = [/Domain is already active/i, /domain is already running/i];
const BUSY = [/non unique alias/i, /already in the process of unplug/i, /in use by/i, /already in use/i, /resource busy/i,
  /already occupied/i, /unplug .* already in progress/i, /is already attached/i, /already exists/i];

/** The "error: " lines of virsh's stderr, without the prefix; the last one is libvirt's own message. */
export function virshErrorLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l) => l.replace(/^error: /, ''));
}

export function mapVirshError(failure: VirshFailure): VmBackendError {
  const lines = virshErrorLines(failure.stderr);
  const detail = lines.join('; ') || 'virsh failed without a message';
  const libvirtMessage = lines[lines.length - 1] ?? '';
  const errorClass = ERROR_CLASSES.find((c) => libvirtMessage.startsWith(`${c}:`) || libvirtMessage === c);
  const context: VmErrorContext = {
    vm: failure.vm,
    hypervisor: 'libvirt',
    hypervisorMessage: detail,
    ...(errorClass === undefined ? {} : { hypervisorErrorClass: errorClass }),
    ...(failure.device === undefined ? {} : { device: failure.device }),
  };
  const message = `virsh ${failure.command} on ${failure.vm}${failure.device ? ` (${failure.device})` : ''}: ${detail}`;
  const matches = (patterns: readonly RegExp[]) => patterns.some((p) => p.test(detail));
  if (matches(CONNECTION)) return new VmConnectionLostError(message, context);
  if (matches(VM_MISSING)) return new VmNotFoundError(message, context, 'vm');
  if (matches(DEVICE_MISSING)) return new VmNotFoundError(message, context, 'device');
  if (matches(NOT_RUNNING)) return new VmNotRunningError(message, context);
  if (matches(ALREADY_RUNNING)) return new VmAlreadyRunningError(message, context);
  if (matches(BUSY)) return new VmDeviceBusyError(message, context);
  return new VmCommandFailedError(message, context);
}
