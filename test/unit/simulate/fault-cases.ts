// One case per operation for the fault matrix: how to set it up and call it, what its error and
// timeout look like, and the deadline a timeout fault waits out (at speed 1).
import { expect } from 'vitest';
import {
  GuestDidNotReleaseError, VmCommandFailedError, VmConnectionLostError, VmStartFailedError, VmTimeoutError,
} from '../../../app/domain/vm/errors.js';
import { HandoffFailed } from '../../../app/host/handoff/errors.js';
import { KernelWriteError, KernelWriteTimeout } from '../../../app/host/kernel/kernel-writer.js';
import { ResetFailed } from '../../../app/host/reset/reset.js';
import { RomError } from '../../../app/host/rom/errors.js';
import type { Operation, SimulatedWorkstationOptions } from '../../../app/helper/simulate/index.js';
import { A, A_FUNCTIONS, POLICY, simulate } from './fixture.js';

type Sim = ReturnType<typeof simulate>;

export interface FaultCase {
  operation: Operation;
  vm?: string;
  options: SimulatedWorkstationOptions;
  call: (sim: Sim) => Promise<unknown>;
  /** The deadline a timeout fault waits (ms at speed 1, after any steps before the fault strikes). */
  deadlineMs: number;
  isError: (error: unknown, sim: Sim) => void;
  isTimeout: (error: unknown) => void;
}

function handoffFailedWith(cause: new (...args: never[]) => Error) {
  return (error: unknown) => {
    expect(error).toBeInstanceOf(HandoffFailed);
    expect((error as HandoffFailed).cause).toBeInstanceOf(cause);
  };
}

function vmTimeout(command: string, deadlineMs: number) {
  return (error: unknown) => {
    expect(error).toBeInstanceOf(VmTimeoutError);
    expect(error).toMatchObject({ operation: command, deadlineMs });
  };
}

const park = { owners: { 'gpu-a': 'park' } } as const;

export const FAULT_CASES: FaultCase[] = [
  {
    operation: 'claim', options: {}, call: (sim) => sim.host.claim(A, POLICY), deadlineMs: 10_000,
    isError: (error, sim) => {
      handoffFailedWith(KernelWriteError)(error);
      // The function moved before the failure went back.
      expect((error as HandoffFailed).rolledBack).toEqual(['give 0000:01:00.0 back to bochs-drm']);
      expect(sim.workstation.driverOf(A)).toBe('bochs-drm');
    },
    isTimeout: handoffFailedWith(KernelWriteTimeout),
  },
  {
    operation: 'release', options: park, call: (sim) => sim.host.release(A, POLICY), deadlineMs: 10_000,
    isError: (error, sim) => {
      handoffFailedWith(KernelWriteError)(error);
      // No rollback on release: function 0 is back on the host, the audio function is not.
      expect(sim.assertConsistent()).toEqual([expect.stringMatching(/GPU 0000:01:00.0 is split/)]);
    },
    isTimeout: handoffFailedWith(KernelWriteTimeout),
  },
  {
    operation: 'reset', options: park, call: (sim) => sim.host.reset(A, 'auto'), deadlineMs: 70_000,
    isError: (error) => { expect(error).toBeInstanceOf(ResetFailed); expect((error as Error).message).toMatch(/does not answer/); },
    isTimeout: (error) => { expect(error).toBeInstanceOf(ResetFailed); expect((error as Error).message).toMatch(/ETIMEDOUT/); },
  },
  {
    operation: 'romFile', options: {}, call: (sim) => sim.host.romFile(A, { source: 'capture' }), deadlineMs: 10_000,
    isError: (error) => { expect(error).toBeInstanceOf(RomError); expect(error).toMatchObject({ errno: 'EIO' }); },
    isTimeout: (error) => { expect(error).toBeInstanceOf(RomError); expect(error).toMatchObject({ errno: 'ETIMEDOUT' }); },
  },
  {
    operation: 'attach', vm: 'win11', options: park, call: (sim) => sim.backendFor('win11').attachGpu('win11', { functions: A_FUNCTIONS }), deadlineMs: 10_000,
    isError: (error, sim) => { expect(error).toBeInstanceOf(VmCommandFailedError); expect(sim.workstation.holderOf(A)).toBeNull(); },
    isTimeout: vmTimeout('device_add', 10_000),
  },
  {
    operation: 'detach', vm: 'win11', options: { owners: { 'gpu-a': 'win11' } },
    call: (sim) => sim.backendFor('win11').detachGpu('win11', A_FUNCTIONS, { deadlineMs: 5_000 }), deadlineMs: 5_000,
    isError: (error, sim) => { expect(error).toBeInstanceOf(GuestDidNotReleaseError); expect(sim.workstation.holderOf(A)).toBe('win11'); },
    isTimeout: vmTimeout('device_del', 5_000),
  },
  {
    operation: 'shutdown', vm: 'win11', options: {}, call: (sim) => sim.backendFor('win11').shutdown('win11', { deadlineMs: 30_000 }), deadlineMs: 10_000,
    isError: (error, sim) => { expect(error).toBeInstanceOf(VmCommandFailedError); expect(sim.workstation.vm('win11').state).toBe('running'); },
    isTimeout: vmTimeout('system_powerdown', 10_000),
  },
  {
    operation: 'start', vm: 'vm-xen', options: {}, call: (sim) => sim.backendFor('vm-xen').start('vm-xen', { deadlineMs: 20_000 }), deadlineMs: 20_000,
    isError: (error, sim) => { expect(error).toBeInstanceOf(VmStartFailedError); expect(sim.workstation.vm('vm-xen').state).toBe('shut-off'); },
    isTimeout: vmTimeout('xl create', 20_000),
  },
  {
    operation: 'pause', vm: 'linux-dev', options: {}, call: (sim) => sim.backendFor('linux-dev').pause('linux-dev'), deadlineMs: 10_000,
    isError: (error) => expect(error).toBeInstanceOf(VmCommandFailedError),
    isTimeout: vmTimeout('virDomainSuspend', 10_000),
  },
  {
    operation: 'resume', vm: 'win11', options: { vms: { win11: { state: 'paused' } } }, call: (sim) => sim.backendFor('win11').resume('win11'), deadlineMs: 10_000,
    isError: (error, sim) => { expect(error).toBeInstanceOf(VmCommandFailedError); expect(sim.workstation.vm('win11').state).toBe('paused'); },
    isTimeout: vmTimeout('cont', 10_000),
  },
  {
    operation: 'passthroughDevices', vm: 'win11', options: {}, call: (sim) => sim.backendFor('win11').passthroughDevices('win11'), deadlineMs: 10_000,
    isError: (error) => expect(error).toBeInstanceOf(VmConnectionLostError),
    isTimeout: vmTimeout('qom-list', 10_000),
  },
  {
    operation: 'state', vm: 'linux-dev', options: {}, call: (sim) => sim.backendFor('linux-dev').state('linux-dev'), deadlineMs: 10_000,
    isError: (error) => expect(error).toBeInstanceOf(VmConnectionLostError),
    isTimeout: vmTimeout('virDomainGetState', 10_000),
  },
];
