// QMP RunState (qapi/run-state.json) → the port's VmState.
import type { VmState } from '../../domain/vm/port.js';

const STATES: Record<string, VmState> = {
  running: 'running',
  paused: 'paused',
  // Started with -S and not yet continued: cont runs it, like a paused VM.
  prelaunch: 'paused',
  suspended: 'paused',
  debug: 'paused',
  'io-error': 'paused',
  watchdog: 'paused',
  'save-vm': 'paused',
  'finish-migrate': 'paused',
  postmigrate: 'paused',
  colo: 'paused',
  inmigrate: 'starting',
  'restore-vm': 'starting',
  // With -no-shutdown the process stays after the guest powered off.
  shutdown: 'shut-off',
  'guest-panicked': 'crashed',
  'internal-error': 'crashed',
};

export function vmStateFromRunState(runState: string): VmState {
  return STATES[runState] ?? 'unknown';
}
