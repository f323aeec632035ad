// The release step hands the config's forceAfterSeconds (as the plan's forceAfterMs) to the backend's
// shutdown; without it the shutdown is a request only.
import { describe, expect, it } from 'vitest';
import type { GpuConfig } from '../../../app/domain/config/index.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import type { BackendFor, HostPort } from '../../../app/domain/switch/ports.js';
import type { ShutdownOptions, VmBackend } from '../../../app/domain/vm/port.js';
import { runStep } from '../../../app/helper/engine/step-runner.js';

function run(forceAfterMs: number | undefined): Promise<ShutdownOptions[]> {
  const seen: ShutdownOptions[] = [];
  const backend = {
    hypervisor: 'qmp',
    state: async () => ({ state: 'running' }),
    shutdown: async (_vm: string, options: ShutdownOptions) => {
      seen.push(options);
      return { outcome: 'graceful' };
    },
  } as unknown as VmBackend;
  const ctx = {
    gpu: { name: 'a', address: '0000:01:00.0' as PciAddress, functions: ['0000:01:00.0' as PciAddress], config: { name: 'a' } as unknown as GpuConfig },
    vms: new Map(),
    host: {} as HostPort,
    backendFor: (() => backend) as unknown as BackendFor,
  };
  const step = { name: 'release' as const, vm: 'win', how: 'shutdown' as const, deadlineMs: 30_000, ...(forceAfterMs !== undefined ? { forceAfterMs } : {}) };
  return runStep(step, ctx, { push: () => undefined }).then(() => seen);
}

describe('release: shutdown', () => {
  it('passes forceAfterMs when the config allows a power-off', async () => {
    expect(await run(120_000)).toEqual([{ deadlineMs: 30_000, forceAfterMs: 120_000 }]);
  });
  it('asks only, without forceAfterMs, when it does not', async () => {
    expect(await run(undefined)).toEqual([{ deadlineMs: 30_000 }]);
  });
});
