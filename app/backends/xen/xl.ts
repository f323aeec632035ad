// Runs xl and xenstore: argv arrays only, C locale, a deadline per command, stderr kept verbatim.
// xl's exit status is not the whole story (libxl logs "error:" lines on success, and a stalled PV
// detach exits 0), so callers get stderr on success too and check the result themselves.
import { execFile } from 'node:child_process';
import {
  VmAlreadyRunningError,
  VmCommandFailedError,
  VmConnectionLostError,
  VmDeviceBusyError,
  VmInvalidRequestError,
  VmNotFoundError,
  VmNotRunningError,
  VmTimeoutError,
  type VmBackendError,
  type VmErrorContext,
} from '../../domain/vm/errors.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface ToolRun {
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  /** The configured VM, for errors. */
  vm: string;
  timeoutMs: number;
  device?: string;
  env?: Readonly<Record<string, string>>;
}

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** What an `xl`/`xenstore` run that exits non-zero says; `exitCode` is xl's (1 failure, 2 bad spec). */
export interface ToolFailure {
  vm: string;
  tool: string;
  args: readonly string[];
  exitCode: number | null;
  stderr: string;
  device?: string;
}

/** Runs one tool; resolves with stdout and stderr when it exits 0, rejects with a typed error otherwise. */
export function runTool(binary: string, args: readonly string[], options: ToolOptions): Promise<ToolRun> {
  const label = `${binary.split('/').pop() ?? binary} ${args[0] ?? ''}`.trim();
  // The tool's run (xl, xenstore): a wait on the hypervisor.
  return waitedOn(new Promise((resolve, reject) => {
    execFile(binary, [...args], {
      env: { ...process.env, ...options.env, LC_ALL: 'C', LANG: 'C' },
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: MAX_OUTPUT_BYTES,
      encoding: 'utf8',
    }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      const context: VmErrorContext = { vm: options.vm, hypervisor: 'xen', ...(options.device ? { device: options.device } : {}), cause: error };
      if (error.killed) {
        return reject(new VmTimeoutError(`${label} on ${options.vm} did not finish within ${options.timeoutMs} ms`,
          { ...context, ...(stderr.trim() ? { hypervisorMessage: stderr.trim() } : {}) }, label, options.timeoutMs));
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new VmConnectionLostError(`${binary} is not installed (Debian packages xen-utils / xenstore-utils)`, context));
      }
      const exitCode = typeof error.code === 'number' ? error.code : null;
      reject(mapXlError({ vm: options.vm, tool: label, args, exitCode, stderr, ...(options.device ? { device: options.device } : {}) }));
    });
   }));
}

const CONNECTION = [/cannot init xl context/i, /cannot open libxc handle/i, /Could not obtain handle on privileged command interface/i,
  /xs_open/i, /failed to connect to xenstore/i, /xenstored? .*(not running|connection refused)/i, /Connection refused/i];
const VM_MISSING = [/is an invalid domain identifier/i, /invalid domain identifier/i, /Domain \S+ does not exist/i, /no such domain/i];
const DEVICE_MISSING = [/PCI device not attached to this domain/i, /Couldn't find the device on xenstore/i, /No such device/i];
const NOT_ASSIGNABLE = [/is not assignable/i, /not (?:been )?made assignable/i];
const BUSY = [/already assigned to a different guest/i, /already assigned/i, /is assigned to a domain/i, /Device or resource busy/i,
  /already exists/i];
const ALREADY_RUNNING = [/Domain with name .* already exists/i, /domain .* already exists/i];
const NOT_RUNNING = [/domain is not running/i, /Domain \S+ is not running/i, /PV control interface not available/i];
const BAD_SPEC = [/Invalid BDF/i, /invalid pci device spec/i, /Unknown option/i];

/** The "libxl: error: FILE:LINE:FUNC: MESSAGE" lines without their prefix, plus xl's own lines. */
export function xlMessages(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '')
    .map((l) => l.replace(/^libxl: (?:error|warning|debug|info|verbose): (?:[\w.]+:\d+:\w+: )?/, ''));
}

export function mapXlError(failure: ToolFailure): VmBackendError {
  const detail = failure.stderr.trim() || `${failure.tool} exited with ${failure.exitCode ?? 'a signal'} without a message`;
  const text = xlMessages(failure.stderr).join('; ');
  const context: VmErrorContext = {
    vm: failure.vm,
    hypervisor: 'xen',
    hypervisorMessage: detail,
    ...(failure.exitCode === null ? {} : { hypervisorErrorClass: `exit ${failure.exitCode}` }),
    ...(failure.device === undefined ? {} : { device: failure.device }),
  };
  const message = `${failure.tool} on ${failure.vm}${failure.device ? ` (${failure.device})` : ''}: ${text || detail}`;
  const matches = (patterns: readonly RegExp[]) => patterns.some((p) => p.test(text));
  if (matches(CONNECTION)) return new VmConnectionLostError(message, context);
  if (matches(ALREADY_RUNNING) && failure.args[0] === 'create') return new VmAlreadyRunningError(message, context);
  if (matches(VM_MISSING)) return new VmNotFoundError(message, context, 'vm');
  if (matches(DEVICE_MISSING)) return new VmNotFoundError(message, context, 'device');
  if (matches(NOT_RUNNING)) return new VmNotRunningError(message, context);
  if (matches(BUSY)) return new VmDeviceBusyError(message, context);
  if (matches(NOT_ASSIGNABLE)) return new VmDeviceBusyError(`${message} (not in the assignable pool: xl pci-assignable-add it)`, context);
  // xl exits 2 for a malformed BDF or spec.
  if (failure.exitCode === 2 || matches(BAD_SPEC)) return new VmInvalidRequestError(message, context);
  return new VmCommandFailedError(message, context);
}

/** libxl gave up waiting for the PV backend (the guest did not answer): the change is half-done. */
export function backendNotReady(stderr: string): string | null {
  return /Backend (\S+) not ready/.exec(stderr)?.[0] ?? null;
}
