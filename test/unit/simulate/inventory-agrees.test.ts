// The simulated workstation must look like the lab's captured one, before and after a claim:
// same functions, classes, ids, groups, drivers, reset methods, GPUs and monitors.
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../../app/domain/inventory/model.js';
import { readInventory } from '../../../app/host/inventory.js';
import { extractSysfsFixture, type SysfsFixture } from '../../lab/lib/fixtures.js';
import { A, POLICY, simulate } from './fixture.js';

// The lab's virtio-9p shares are plumbing of the capture, not part of a workstation.
const LAB_PLUMBING = ['0000:00:10.0', '0000:00:11.0'];

function captured(shape: SysfsFixture): Inventory {
  return readInventory({ sysfsRoot: extractSysfsFixture(shape), pciIds: null });
}

function functionsOf(inventory: Inventory) {
  return inventory.functions.filter((f) => !LAB_PLUMBING.includes(f.address)).map((f) => ({
    address: f.address, class: f.class, vendor: f.vendor, device: f.device, subsystem: `${f.subsystemVendor}:${f.subsystemDevice}`,
    revision: f.revision, driver: f.driver, driverOverride: f.driverOverride, iommuGroup: f.iommuGroup, resetMethods: f.resetMethods,
    bootVga: f.bootVga, romPresent: f.romPresent, isBridge: f.isBridge, parentBridge: f.parentBridge,
  }));
}

function gpusOf(inventory: Inventory) {
  return inventory.gpus.map((g) => ({
    address: g.address, functions: g.functions.map((f) => `${f.address} ${f.class} ${f.driver}`), groupPeers: g.groupPeers,
    iommuGroup: g.iommuGroup, bootVga: g.bootVga, assignable: g.assignable, reasons: g.reasons.map((r) => r.code),
    monitors: g.monitors.map((m) => `${m.connector} ${m.name} ${m.preferredMode} enabled=${m.enabled}`),
  }));
}

function groupsOf(inventory: Inventory) {
  return inventory.iommuGroups.filter((g) => !g.devices.some((d) => LAB_PLUMBING.includes(d)));
}

describe('the simulated inventory agrees with the captured workstation', () => {
  it('at boot: every function, group, GPU and monitor as captured', async () => {
    const sim = simulate();
    const simulated = await sim.host.inventory();
    const real = captured('workstation');
    expect(functionsOf(simulated)).toEqual(functionsOf(real));
    expect(groupsOf(simulated)).toEqual(groupsOf(real));
    expect(gpusOf(simulated)).toEqual(gpusOf(real));
    expect(simulated.vfio.vfioPciLoaded).toBe(real.vfio.vfioPciLoaded);
  });

  it('after claiming GPU A: drivers, overrides and vanished monitors as in the workstation-vfio capture', async () => {
    const sim = simulate();
    await sim.host.claim(A, POLICY);
    const simulated = await sim.host.inventory();
    const real = captured('workstation-vfio');
    expect(functionsOf(simulated)).toEqual(functionsOf(real));
    expect(gpusOf(simulated)).toEqual(gpusOf(real));
    expect(simulated.vfio.vfioPciLoaded).toBe(true);
    expect(real.vfio.vfioPciLoaded).toBe(true);
  });
});
