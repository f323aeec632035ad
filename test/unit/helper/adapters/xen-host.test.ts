// The Xen dom0 host port: xl makes the GPU assignable (pciback) and gives it back; the inventory of
// a dom0 does not call the missing IOMMU groups an IOMMU that is off.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import { XenHost } from '../../../../app/helper/adapters/xen-host.js';
import { handoffContext } from '../../../../app/host/handoff/context.js';
import { HandoffFailed, HandoffRefused } from '../../../../app/host/handoff/errors.js';
import { readInventory } from '../../../../app/host/inventory.js';
import { ChildKernelWriter } from '../../../../app/host/kernel/kernel-writer.js';
import { RomStore } from '../../../../app/host/rom/store.js';
import { extractSysfsFixture } from '../../../lab/lib/fixtures.js';
import { workstation } from '../../../lab/lib/topology.js';

const roles = workstation.roles as Record<string, string>;
const gpuA = roles.gpuA as PciAddress;

/** A dom0-shaped copy of the capture: /sys/hypervisor/type says xen and there are no IOMMU groups. */
function dom0Tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-dom0-'));
  execFileSync('cp', ['-a', `${extractSysfsFixture('workstation')}/.`, root]);
  mkdirSync(join(root, 'hypervisor'), { recursive: true });
  writeFileSync(join(root, 'hypervisor/type'), 'xen\n');
  execFileSync('rm', ['-rf', join(root, 'kernel/iommu_groups')]);
  execFileSync('find', [join(root, 'devices'), '-name', 'iommu_group', '-type', 'l', '-delete']);
  mkdirSync(join(root, 'bus/pci/drivers/pciback'), { recursive: true });
  return root;
}

/** A stand-in for xl: records its argv and moves the driver link the way pci-assignable-add/-remove do. */
function fakeXl(root: string, failOn?: string): { path: string; calls: () => string[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-fake-xl-'));
  const log = join(dir, 'calls.jsonl');
  const path = join(dir, 'xl');
  writeFileSync(path, `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + '\\n');
const bdf = args.at(-1);
if (${JSON.stringify(failOn ?? '')} && bdf === ${JSON.stringify(failOn ?? '')}) { process.stderr.write('libxl: error: failed to bind ' + bdf + '\\n'); process.exit(1); }
const link = ${JSON.stringify(root)} + '/bus/pci/devices/' + bdf + '/driver';
const target = fs.readlinkSync(link);
const driver = args[0] === 'pci-assignable-add' ? 'pciback' : (bdf.endsWith('.0') ? 'bochs-drm' : 'snd_hda_intel');
fs.unlinkSync(link);
fs.symlinkSync(target.replace(/[^/]+$/, driver), link);
`);
  chmodSync(path, 0o755);
  return { path, calls: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

function host(root: string, xlPath: string): XenHost {
  const ctx = handoffContext({ sysfsRoot: root, stateDir: mkdtempSync(join(tmpdir(), 'baton-state-')), writer: new ChildKernelWriter() });
  return new XenHost(ctx, new RomStore(mkdtempSync(join(tmpdir(), 'baton-roms-'))), { xlPath });
}

const policy = { movablePeers: [], allowBootVga: false, loadVfioModule: true };
const driverOf = (root: string, a: string) => readlinkSync(join(root, 'bus/pci/devices', a, 'driver')).split('/').pop();

describe('Xen dom0 host port', () => {
  it('the inventory of a dom0 warns that Xen owns the IOMMU instead of refusing every GPU', () => {
    const inv = readInventory({ sysfsRoot: dom0Tree() });
    expect(inv.vfio.xenDom0).toBe(true);
    const a = inv.gpus.find((g) => g.address === gpuA)!;
    expect(a.assignable).toBe(true);
    expect(a.reasons.map((r) => r.code)).toEqual(['xen-iommu']);
  });

  it('claims every function with xl pci-assignable-add and gives them back with pci-assignable-remove -r, function 0 first', async () => {
    const root = dom0Tree();
    const xl = fakeXl(root);
    const h = host(root, xl.path);
    expect(h.stubDriver).toBe('pciback');
    await h.claim(gpuA, policy);
    expect([driverOf(root, gpuA), driverOf(root, roles.gpuAAudio!)]).toEqual(['pciback', 'pciback']);
    await h.release(gpuA, policy);
    expect([driverOf(root, gpuA), driverOf(root, roles.gpuAAudio!)]).toEqual(['bochs-drm', 'snd_hda_intel']);
    expect(xl.calls()).toEqual([
      ['pci-assignable-add', gpuA], ['pci-assignable-add', roles.gpuAAudio],
      ['pci-assignable-remove', '-r', gpuA], ['pci-assignable-remove', '-r', roles.gpuAAudio],
    ]);
  });

  it('a failing pci-assignable-add gives back what it already took, and says which step failed', async () => {
    const root = dom0Tree();
    const xl = fakeXl(root, roles.gpuAAudio);
    const err = await host(root, xl.path).claim(gpuA, policy).catch((e) => e);
    expect(err).toBeInstanceOf(HandoffFailed);
    expect(err.cause.message).toContain('failed to bind');
    expect(err.rolledBack).toEqual([gpuA]);
    expect(driverOf(root, gpuA)).toBe('bochs-drm');
  });

  it('refuses the boot VGA without the config’s consent, before running xl', async () => {
    const root = dom0Tree();
    const xl = fakeXl(root);
    await expect(host(root, xl.path).claim(roles.bootVga as PciAddress, policy)).rejects.toBeInstanceOf(HandoffRefused);
    expect(() => xl.calls()).toThrow(); // no call was logged at all
  });
});
