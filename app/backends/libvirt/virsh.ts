// Runs virsh against one connection URI: argv arrays only, English messages, a deadline per command.
import { execFile } from 'node:child_process';
import { VmConnectionLostError, VmTimeoutError } from '../../domain/vm/errors.js';
import { mapVirshError } from './virsh-errors.js';
import { waitedOn } from '../../domain/time/wait-meter.js';

export interface VirshTarget {
  /** The configured VM name, for errors. */
  vm: string;
  uri: string;
}

export interface VirshOptions {
  timeoutMs: number;
  /** The device concerned, for errors. */
  device?: string;
  virshPath?: string;
}

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Runs `virsh -c URI ARGS…`; resolves with stdout, rejects with a typed VmBackendError. */
export function runVirsh(target: VirshTarget, args: readonly string[], options: VirshOptions): Promise<string> {
  const command = args[0] ?? '';
  const binary = options.virshPath ?? 'virsh';
  // libvirt's time (virsh is its interface): a wait on the hypervisor.
  return waitedOn(new Promise((resolve, reject) => {
    execFile(binary, ['-c', target.uri, ...args], {
      // C locale: libvirt's messages are matched as English text in virsh-errors.ts.
      env: { ...process.env, LC_ALL: 'C', LANG: 'C', LIBVIRT_DEFAULT_URI: target.uri },
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: MAX_OUTPUT_BYTES,
      encoding: 'utf8',
    }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const context = { vm: target.vm, hypervisor: 'libvirt' as const, ...(options.device ? { device: options.device } : {}), cause: error };
      if (error.killed) {
        return reject(new VmTimeoutError(`virsh ${command} on ${target.vm} did not finish within ${options.timeoutMs} ms`,
          context, `virsh ${command}`, options.timeoutMs));
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new VmConnectionLostError(`${binary} is not installed (package libvirt-clients)`, context));
      }
      reject(mapVirshError({ vm: target.vm, command, stderr, ...(options.device ? { device: options.device } : {}) }));
    });
  }));
}
