// Release on a captured sysfs tree (the GPU on vfio-pci), with a writer that plays the kernel's
// part of driver binding (unbind, bind, driver_override, drivers_probe move the driver links), so
// the order and the drivers chosen can be checked: hostDriver decides for the display function.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { handoffContext } from '../../../app/host/handoff/context.js';
import { releaseGpu } from '../../../app/host/handoff/release.js';
import type { KernelLane, KernelWrite, KernelWriter } from '../../../app/host/kernel/kernel-writer.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';

const GPU = '0000:01:00.0' as PciAddress;
const AUDIO = '0000:01:00.1' as PciAddress;
/** What the kernel would bind without an override. */
const NATIVE: Record<string, string> = { [GPU]: 'bochs-drm', [AUDIO]: 'snd_hda_intel' };

function fakeKernel(root: string): KernelWriter & { log: string[] } {
  const log: string[] = [];
  const link = (a: string) => join(root, 'bus/pci/devices', a, 'driver');
  const bind = (a: string, driver: string) => {
    rmSync(link(a), { force: true });
    symlinkSync(relative(join(root, 'bus/pci/devices', a), join(root, 'bus/pci/drivers', driver)), link(a));
  };
  const write = async ({ path, value }: KernelWrite) => {
    const rel = relative(root, path);
    log.push(`${rel} ${value.trim() || '(clear)'}`);
    let m: RegExpExecArray | null;
    if ((m = /^bus\/pci\/drivers\/([^/]+)\/unbind$/.exec(rel))) rmSync(link(value), { force: true });
    else if ((m = /^bus\/pci\/drivers\/([^/]+)\/bind$/.exec(rel))) bind(value, m[1]!);
    else if (rel === 'bus/pci/drivers_probe') {
      const override = readFileSync(join(root, 'bus/pci/devices', value, 'driver_override'), 'utf8').trim();
      if (!existsSync(link(value))) bind(value, override && override !== '(null)' ? override : NATIVE[value]!);
    } else writeFileSync(path, value);
  };
  const lane = (gpu: PciAddress): KernelLane => ({ gpu, write, call: async () => undefined, wedge: () => null, activity: () => null });
  return { log, forGpu: lane, wedged: () => [], inProgress: () => [], abandon: () => undefined, close: () => undefined };
}

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-sysfs-release-'));
  execFileSync('cp', ['-a', `${extractSysfsFixture('workstation-vfio')}/.`, root]);
  return root;
}
const driverOf = (root: string, a: string) => basename(readlinkSync(join(root, 'bus/pci/devices', a, 'driver')));

describe('release', () => {
  it('gives the display function the configured hostDriver and the others the driver the kernel matches', async () => {
    const root = tree();
    const writer = fakeKernel(root);
    const ctx = handoffContext({ sysfsRoot: root, procRoot: mkdtempSync(join(tmpdir(), 'baton-proc-')), writer, stateDir: mkdtempSync(join(tmpdir(), 'baton-state-')) });
    // a driver of its own for the display function: not what the kernel would match
    execFileSync('mkdir', ['-p', join(root, 'bus/pci/drivers/simpledrm-test')]);
    const result = await releaseGpu(ctx, GPU, { movablePeers: [], hostDriver: 'simpledrm-test' });
    expect(driverOf(root, GPU)).toBe('simpledrm-test');
    expect(driverOf(root, AUDIO)).toBe('snd_hda_intel');
    expect(result.functions.map((f) => `${f.address} ${f.from} -> ${f.to}`)).toEqual([`${GPU} vfio-pci -> simpledrm-test`, `${AUDIO} vfio-pci -> snd_hda_intel`]);
    expect(writer.log).toContain(`bus/pci/drivers/simpledrm-test/bind ${GPU}`);
  });

  it('without hostDriver the display function gets what the kernel matches', async () => {
    const root = tree();
    const writer = fakeKernel(root);
    const ctx = handoffContext({ sysfsRoot: root, procRoot: mkdtempSync(join(tmpdir(), 'baton-proc-')), writer, stateDir: mkdtempSync(join(tmpdir(), 'baton-state-')) });
    await releaseGpu(ctx, GPU, { movablePeers: [] });
    expect(driverOf(root, GPU)).toBe('bochs-drm');
  });
});
