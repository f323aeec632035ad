// `virsh domstate --reason` output ("paused (user)") → the port's VmState; raw keeps the whole line.
import type { VmState, VmStatus } from '../../domain/vm/port.js';

const STATES: Record<string, VmState> = {
  running: 'running',
  // Blocked on a resource (virDomainState BLOCKED): the guest is alive and holds its devices.
  idle: 'running',
  paused: 'paused',
  // Shutting down but not off yet: it still holds its devices, so it counts as running until it is off.
  'in shutdown': 'running',
  'shut off': 'shut-off',
  crashed: 'crashed',
  // Suspended to RAM by the guest: like paused (the devices stay held); resume wakes it (dompmwakeup).
  pmsuspended: 'paused',
  'no state': 'unknown',
};

const LINE = /^([a-z]+(?: [a-z]+)?)(?: \(([^()]*)\))?$/;

export class DomstateFormatError extends Error {
  constructor(readonly output: string) {
    super(`not a virsh domstate line: ${JSON.stringify(output.slice(0, 200))}`);
    this.name = 'DomstateFormatError';
  }
}

/** Parses virsh domstate output, with or without --reason. */
export function parseDomstate(output: string): VmStatus {
  const line = output.trim();
  const m = LINE.exec(line);
  const word = m?.[1];
  if (!m || word === undefined || !(word in STATES)) throw new DomstateFormatError(output);
  // libvirt holds a starting domain paused until QEMU is fully set up.
  const state = word === 'paused' && m[2] === 'starting up' ? 'starting' : (STATES[word] ?? 'unknown');
  return { state, raw: line };
}
