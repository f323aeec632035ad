// Proves the KVM lab harness itself, independent of Baton's code: the Debian kernel boots under
// TCG with an emulated IOMMU, IOMMU groups form, vfio-pci loads from the unpacked modules and
// /dev/vfio appears.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { prepareLabKernel } from '../lib/kernel.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { REPO_ROOT } from '../lib/paths.js';
import { workstation } from '../lib/topology.js';

const unavailable = kvmLabUnavailable();

describeOrSkip(unavailable, 'KVM lab: L1 boot smoke', () => {
  it('boots the lab kernel with IOMMU groups, loads vfio-pci and creates /dev/vfio', async () => {
    const run = await runInL1({
      name: 'kvm-boot-smoke',
      topology: workstation,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/smoke-job.sh')],
      deadlineMs: 240_000,
    });
    expect(run.status, describeRun(run)).toBe(0);
    const facts = Object.fromEntries(
      readFileSync(join(run.shareDir, 'smoke.txt'), 'utf8').trim().split('\n').map((l) => l.split('=', 2) as [string, string]),
    );
    expect(facts.kernel).toBe(prepareLabKernel().version);
    // workstation: host bridge, boot VGA, 3 root ports (+ their 3 endpoints' groups), 2 shares, ICH9.
    expect(Number(facts.iommu_groups)).toBeGreaterThanOrEqual(8);
    expect(facts.vfio_pci_loaded).toBe('yes');
    expect(facts.dev_vfio).toBe('yes');
    expect(facts.node).toBe(process.version);
  });
});
