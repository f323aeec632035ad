// The desk snapshot and its events over the simulated workstation, behind the real engine: what a
// user sees before, during and after a switch, a failed one, and after the helper restarts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDesk, type DeskFeed } from '../../../app/helper/desk/index.js';
import { MONITOR_MEMORY_FILE } from '../../../app/helper/desk/monitor-memory.js';
import { deskSnapshotSchema, type DeskEvent, type DeskSnapshot } from '../../../app/protocol/desk.js';
import { makeHarness, type Harness } from '../engine/harness.js';

const feeds: DeskFeed[] = [];
afterEach(() => {
  for (const f of feeds.splice(0)) f.close();
});

function deskOf(h: Harness): DeskFeed {
  const desk = createDesk(h.service, h.sim.config, { configFile: null, version: '9.9.9', simulated: true });
  if (!desk) throw new Error('createDesk refused the helper service');
  feeds.push(desk);
  return desk;
}

function listen(desk: DeskFeed): DeskEvent[] {
  const events: DeskEvent[] = [];
  desk.subscribe((e) => events.push(e));
  return events;
}

/** Waits until the feed has pushed a snapshot that satisfies `ok` (the feed builds asynchronously). */
async function snapshotWhere(events: DeskEvent[], ok: (s: DeskSnapshot) => boolean): Promise<DeskSnapshot> {
  for (let i = 0; i < 200; i++) {
    const found = events.filter((e) => e.kind === 'desk-changed').map((e) => e.snapshot).reverse().find(ok);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no pushed snapshot matched; last revision ${events.filter((e) => e.kind === 'desk-changed').at(-1)?.snapshot.revision ?? 'none'}`);
}

const gpu = (s: DeskSnapshot, name: string) => s.gpus.find((g) => g.name === name)!;
const monitor = (s: DeskSnapshot, connector: string) => s.monitors.find((m) => m.connector === connector);

describe('the desk over the simulated workstation', () => {
  it('shows every GPU with its functions, owner and monitors, every VM with its strategies, and the config', async () => {
    const h = makeHarness();
    const s = await deskOf(h).snapshot();
    expect(deskSnapshotSchema.safeParse(s).success).toBe(true);
    expect(s.helper).toEqual({ version: '9.9.9', simulated: true });
    expect(s.gpus.map((g) => [g.name, g.address, g.owner, g.busy, g.present])).toEqual([
      ['gpu-a', '0000:01:00.0', 'host', false, true],
      ['gpu-b', '0000:02:00.0', 'host', false, true],
    ]);
    const a = gpu(s, 'gpu-a');
    expect(a.functions.map((f) => [f.address, f.role, f.className, f.driver])).toEqual([
      ['0000:01:00.0', 'display', 'VGA compatible controller', 'bochs-drm'],
      ['0000:01:00.1', 'companion', 'Audio device', 'snd_hda_intel'],
    ]);
    expect(a.functions[1]?.deviceName).toBe('82801I (ICH9 Family) HD Audio Controller');
    expect(a.iommuGroup).toBe(8);
    expect(a.kernelResetMethods).toEqual(['bus']);
    expect(a.reset).toBe('auto');
    expect(a.targets).toEqual(['host', 'park', 'win11', 'linux-dev', 'vm-xen']);
    expect(a.current).toBeNull();
    expect(a.last).toBeNull();
    expect(a.monitors).toEqual(['card1-Virtual-2']);

    expect(monitor(s, 'card1-Virtual-2')).toEqual({
      connector: 'card1-Virtual-2', label: 'Left (QEMU Monitor 1920x1080)', edidName: 'QEMU Monitor', manufacturerId: 'RHT', productCode: 4660,
      serial: null, preferredMode: { width: 1920, height: 1080, refreshHz: 75 }, gpu: 'gpu-a', gpuAddress: '0000:01:00.0', shows: 'host',
      status: 'connected', presence: 'now', lastSeenAt: null,
    });
    expect(monitor(s, 'card2-Virtual-3')?.preferredMode).toEqual({ width: 2560, height: 1440, refreshHz: 75 });
    // The boot GPU's screen is the host's, though the config does not name that GPU.
    expect(monitor(s, 'card0-Virtual-1')).toMatchObject({ gpu: null, gpuAddress: '0000:00:01.0', shows: 'host', presence: 'now' });

    expect(s.vms.map((v) => [v.name, v.backend, v.state, v.release.method, v.acquire, v.gpus])).toEqual([
      ['win11', 'qmp', 'running', 'hot-unplug', 'hot-plug', []],
      ['linux-dev', 'libvirt', 'running', 'hot-unplug', 'hot-plug', []],
      ['vm-xen', 'xen', 'shut-off', 'shutdown', 'start', []],
    ]);
    expect(s.config.file).toBeNull();
    expect(s.config.shortcuts).toContainEqual({ keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'win11' });
    expect((s.config.effective as { gpus: { name: string }[] }).gpus.map((g) => g.name)).toEqual(['gpu-a', 'gpu-b']);
    expect(s.config.findings).toEqual([]);
    expect(s.stats.overall.total).toBe(0);
    expect(s.historyTotal).toBe(0);
  });

  it('pushes every step while a switch runs, then the GPU on the VM, its monitor remembered, and the history entry', async () => {
    // Long step deadlines: the switch waits at its reset (a simulated hang) until the test lets it go.
    const h = makeHarness({}, 60_000);
    const desk = deskOf(h);
    const events = listen(desk);
    const before = await desk.snapshot();
    h.sim.injectFault({ operation: 'reset', kind: 'hang' });
    const switching = h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'browser' });
    const during = await snapshotWhere(events, (s) => gpu(s, 'gpu-a').current?.step?.name === 'reset');
    expect(during.revision).toBeGreaterThan(before.revision);
    expect(gpu(during, 'gpu-a').busy).toBe(true);
    expect(gpu(during, 'gpu-a').current).toMatchObject({ from: 'host', to: 'win11', requestedBy: 'browser' });
    expect(gpu(during, 'gpu-a').current?.steps.map((st) => [st.name, st.outcome])).toEqual(expect.arrayContaining([['claim', 'ok']]));
    h.sim.releaseHangs('proceed');
    const result = await switching;
    expect(result).toMatchObject({ outcome: 'succeeded', owner: 'win11' });
    expect(gpu(during, 'gpu-a').current?.switchId).toBe(result.switchId);

    const kinds = events.map((e) => e.kind).filter((k) => k !== 'desk-changed');
    expect(kinds[0]).toBe('switch-started');
    expect(kinds).toContain('step-started');
    expect(kinds).toContain('history-appended');

    const after = await snapshotWhere(events, (s) => gpu(s, 'gpu-a').owner === 'win11' && gpu(s, 'gpu-a').current === null && s.historyTotal === 1);
    const a = gpu(after, 'gpu-a');
    expect(a.last).toMatchObject({ switchId: result.switchId, outcome: 'succeeded', from: 'host', to: 'win11', finalOwner: 'win11', failedStep: null, rolledBack: [] });
    expect(a.functions.every((f) => f.role === 'peer' || f.driver === 'vfio-pci')).toBe(true);
    // The VM's GPU has no host DRM driver any more: the monitor is the one last seen, showing win11.
    const left = monitor(after, 'card1-Virtual-2')!;
    expect(left).toMatchObject({ presence: 'remembered', shows: 'win11', edidName: 'QEMU Monitor', preferredMode: { width: 1920, height: 1080, refreshHz: 75 }, status: null });
    expect(Date.parse(left.lastSeenAt!)).toBeLessThanOrEqual(Date.parse(after.at));
    expect(after.vms.find((v) => v.name === 'win11')).toMatchObject({ gpus: ['gpu-a'], devices: ['0000:01:00.0', '0000:01:00.1'] });
    expect(after.stats.overall).toMatchObject({ total: 1, attempted: 1, successRate: 1 });
    expect(after.stats.byPair).toEqual([expect.objectContaining({ from: 'host', to: 'win11', total: 1 })]);

    const appended = events.find((e) => e.kind === 'history-appended');
    expect(appended?.kind === 'history-appended' && appended.entry).toMatchObject({ id: result.switchId, gpu: 'gpu-a', outcome: 'succeeded' });
    if (appended?.kind === 'history-appended') expect(appended.entry.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['claim', 'reset', 'attach']));
    const page = await desk.historyPage({ limit: 10 });
    expect(page.total).toBe(1);
    expect(page.entries[0]).toMatchObject({ id: result.switchId, durationMs: expect.any(Number) });
  });

  it('shows where a failed switch failed, what was undone and where the GPU ended', async () => {
    const h = makeHarness();
    const desk = deskOf(h);
    const events = listen(desk);
    h.sim.injectFault({ operation: 'reset', kind: 'error' });
    const result = await h.service.switchGpu({ gpu: 'gpu-b', target: 'linux-dev', requestedBy: 'cli' });
    expect(result.outcome).not.toBe('succeeded');
    const after = await snapshotWhere(events, (s) => gpu(s, 'gpu-b').last !== null && gpu(s, 'gpu-b').current === null);
    const b = gpu(after, 'gpu-b');
    expect(b.last).toMatchObject({ outcome: result.outcome, failedStep: 'reset', finalOwner: result.owner, to: 'linux-dev' });
    expect(b.last?.error).toMatch(/reset/i);
    expect(b.last?.rolledBack.length).toBeGreaterThan(0);
    expect(b.owner).toBe(result.owner);
    const ended = events.find((e) => e.kind === 'step-ended' && e.step === 'reset');
    expect(ended).toMatchObject({ outcome: 'failed' });
    expect(after.stats.overall.successRate).toBe(0);
  });

  it('remembers the monitors of a GPU a VM holds across a helper restart, in its state folder', async () => {
    const h = makeHarness();
    await deskOf(h).snapshot(); // sees the monitors on the host
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    const first = await deskOf(h).snapshot();
    expect(monitor(first, 'card1-Virtual-2')?.presence).toBe('remembered');
    const file = join(h.dir, MONITOR_MEMORY_FILE);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).gpus['gpu-a'][0].connector).toBe('card1-Virtual-2');

    const again = h.restart();
    const s = await deskOf(again).snapshot();
    expect(gpu(s, 'gpu-a').owner).toBe('win11');
    expect(monitor(s, 'card1-Virtual-2')).toMatchObject({ presence: 'remembered', shows: 'win11', edidName: 'QEMU Monitor', lastSeenAt: monitor(first, 'card1-Virtual-2')?.lastSeenAt });
  });

  it('builds nothing while nobody listens, and one snapshot answers askers who come together', async () => {
    const h = makeHarness();
    const desk = deskOf(h);
    await h.service.switchGpu({ gpu: 'gpu-a', target: 'park', requestedBy: 'cli' });
    const [x, y] = await Promise.all([desk.snapshot(), desk.snapshot()]);
    // Nothing was built during the switch (no subscriber): the first snapshot asked for is revision 1.
    expect(x.revision).toBe(1);
    expect(y.revision).toBeGreaterThanOrEqual(1);
    expect(gpu(x, 'gpu-a').owner).toBe('park');
    expect(monitor(x, 'card1-Virtual-2')).toMatchObject({ shows: 'park' });
  });
});
