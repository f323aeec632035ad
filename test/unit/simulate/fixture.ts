// Shared by the simulated-workstation tests: a workstation with instant steps by default, and a
// way to watch a promise settle under fake timers without unhandled rejections.
import { DEFAULT_POLICY, type HandoffPolicy } from '../../../app/domain/handoff/policy.js';
import { createSimulatedWorkstation, GPU_A, GPU_B, type SimulatedWorkstationOptions } from '../../../app/helper/simulate/index.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';

export const A = GPU_A;
export const A_AUDIO = '0000:01:00.1' as PciAddress;
export const B = GPU_B;
export const B_AUDIO = '0000:02:00.1' as PciAddress;
export const A_FUNCTIONS = [A, A_AUDIO] as const;
export const B_FUNCTIONS = [B, B_AUDIO] as const;
/** The config's policy: vfio-pci is loaded on demand. */
export const POLICY: HandoffPolicy = { ...DEFAULT_POLICY, loadVfioModule: true };

export function simulate(options: SimulatedWorkstationOptions = {}) {
  return createSimulatedWorkstation({ speed: 0, ...options });
}

export interface Tracked<T> {
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
  readonly promise: Promise<void>;
}

/** Follows a promise's outcome; its rejection is captured, never unhandled. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown, promise: Promise.resolve() };
  state.promise = promise.then(
    (value) => { state.settled = true; state.value = value; },
    (error: unknown) => { state.settled = true; state.error = error; },
  );
  return state;
}
