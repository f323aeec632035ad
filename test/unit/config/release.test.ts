// release: shutdown is a request; only an explicit forceAfterSeconds lets Baton power a VM off.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { planSwitch, type PlanVm } from '../../../app/domain/switch/plan.js';

const gpu = { name: 'g', address: '0000:01:00.0' as PciAddress, functions: ['0000:01:00.0' as PciAddress], reset: 'auto' as const, policy: { movablePeers: [], allowBootVga: false, loadVfioModule: true } };

function releaseStep(release: string) {
  const result = parseConfig(`vms:\n  - { name: win, backend: qmp, socket: /run/win.qmp, release: ${release} }\n`, 'f.yaml');
  if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
  const vm = result.config.vms[0]!;
  const vms = new Map<string, PlanVm>([[vm.name, { name: vm.name, release: vm.release, acquire: vm.acquire }]]);
  return planSwitch(gpu, 'win', 'park', vms).steps[0];
}

describe('release: shutdown and forceAfterSeconds', () => {
  it('a plain shutdown waits timeoutSeconds and may not force', () => {
    expect(releaseStep('shutdown')).toEqual({ name: 'release', vm: 'win', how: 'shutdown', deadlineMs: 30_000 });
    expect(releaseStep('{ method: shutdown, timeoutSeconds: 90 }')).toEqual({ name: 'release', vm: 'win', how: 'shutdown', deadlineMs: 90_000 });
  });

  it('forceAfterSeconds gives the backend leave to power off, after that wait', () => {
    expect(releaseStep('{ method: shutdown, forceAfterSeconds: 300 }')).toEqual({ name: 'release', vm: 'win', how: 'shutdown', deadlineMs: 300_000, forceAfterMs: 300_000 });
  });

  it('forceAfterSeconds with another release method is an error at its line', () => {
    const result = parseConfig('vms:\n  - { name: win, backend: qmp, socket: /run/win.qmp, release: { method: hot-unplug, forceAfterSeconds: 5 } }\n', 'f.yaml');
    expect(result.ok ? [] : result.errors.map(formatConfigError)).toEqual([
      expect.stringContaining('vms[0].release.forceAfterSeconds: forceAfterSeconds applies to release method shutdown only'),
    ]);
  });
});
