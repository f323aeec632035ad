// Group peers on a live kernel: the "dense" topology booted in L1. A display device behind a
// pcie-pci-bridge shares its IOMMU group with an e1000 NIC: claiming it is refused until the
// config names the NIC in movablePeers, then both move and both come back. A four-function GPU
// (VGA, HDA, xHCI, serial) moves as a whole. One L1 boot runs handoff-dense-job.sh.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { JobResults, namesFor, type Snapshot } from '../lib/job-results.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { REPO_ROOT } from '../lib/paths.js';
import { dense } from '../lib/topology.js';

const roles = dense.roles as Record<'bootVga' | 'gpu' | 'gpuAudio' | 'gpuUsb' | 'gpuSerial' | 'bridge' | 'bridgedDisplay' | 'bridgedNic', string>;
const gpuFunctions = [roles.gpu, roles.gpuAudio, roles.gpuUsb, roles.gpuSerial];
const pair = [roles.bridgedDisplay, roles.bridgedNic];

interface Moved { address: string; from: string | null; to: string | null; ms: number }
interface ViabilityJson { sysfs: { viable: boolean; blockers: string[] }; ioctl: { viable: boolean } | null; agree: boolean | null }
interface ClaimJson { functions: Moved[]; viability: ViabilityJson | null; vgaArbiter: { kind: string } | null; ms: number }
interface ReleaseJson { functions: Moved[]; ms: number }

const unavailable = kvmLabUnavailable() ?? buildProject();

describeOrSkip(unavailable, 'KVM lab: group peers and a four-function GPU on a live kernel (dense)', () => {
  let r: JobResults;
  let initial: Snapshot;
  let hostDriver: (address: string) => string;

  beforeAll(async () => {
    const run = await runInL1({
      name: 'kvm-handoff-dense',
      topology: dense,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/handoff-dense-job.sh')],
      env: {
        GPU: roles.gpu, GPU_AUDIO: roles.gpuAudio, GPU_USB: roles.gpuUsb, GPU_SERIAL: roles.gpuSerial,
        BRIDGE: roles.bridge, DISPLAY: roles.bridgedDisplay, NIC: roles.bridgedNic,
      },
      deadlineMs: 600_000,
    });
    if (run.status !== 0) throw new Error(describeRun(run));
    r = new JobResults(run.shareDir);
    initial = r.snap('initial');
    hostDriver = (address) => {
      const d = initial.driver.get(address);
      if (!d || d === 'none') throw new Error(`${address} had no host driver at boot`);
      return d;
    };
    const ms = (name: string) => {
      if (!r.has(name)) return null;
      const run = r.cmd(name);
      const extra = Object.fromEntries(Object.entries(run.extra).map(([k, v]) => [k, Number(v)]));
      return { wallMs: run.wallMs, inProcessMs: run.rc === 0 ? r.json<{ ms: number }>(name).ms : null, ...extra };
    };
    const durations = Object.fromEntries(['refused', 'peers-claim', 'peers-release', 'fourfn-claim', 'fourfn-release'].map((n) => [n, ms(n)]));
    writeFileSync(join(run.outDir, 'durations.json'), JSON.stringify(durations, null, 2));
    process.stdout.write(`[kvm handoff dense] measured durations (ms):\n${JSON.stringify(durations, null, 2)}\n`);
  });

  it('boots with the display device and the NIC in one IOMMU group, each on its host driver', () => {
    expect(initial.group.get(roles.bridgedNic)).toBe(initial.group.get(roles.bridgedDisplay));
    expect(initial.group.get(roles.bridge)).toBe(initial.group.get(roles.bridgedDisplay));
    expect(hostDriver(roles.bridgedDisplay)).toBe('bochs-drm');
    expect(hostDriver(roles.bridgedNic)).toBe('e1000');
    expect(namesFor(initial.netdevs, roles.bridgedNic)).toHaveLength(1);
  });

  it('claim without consent is refused, exit 1, with a reason naming the NIC; nothing changes', () => {
    const refused = r.cmd('refused');
    expect(refused.rc).toBe(1);
    expect(refused.failure).toContain(`group peer ${roles.bridgedNic}`);
    expect(refused.failure).toContain('movablePeers');
    const s = r.snap('after-refused');
    for (const a of pair) {
      expect(s.driver.get(a)).toBe(hostDriver(a));
      expect(s.override.get(a)).toBe('(null)');
    }
    expect(s.devVfio).not.toContain(initial.group.get(roles.bridgedDisplay));
    expect(Object.keys(s.memory?.functions ?? {})).toEqual([]);
  });

  it('with the NIC in movablePeers, both move to vfio-pci and the group is viable both ways', () => {
    const claim = r.cmd('peers-claim');
    expect(claim.rc, claim.failure).toBe(0);
    const json = r.json<ClaimJson>('peers-claim');
    expect(json.functions.map((f) => [f.address, f.from, f.to])).toEqual(pair.map((a) => [a, hostDriver(a), 'vfio-pci']));
    expect(json.viability).toMatchObject({ sysfs: { viable: true }, ioctl: { viable: true }, agree: true });
    // A display controller (class 0x0380) does not decode legacy VGA: no arbiter lock.
    expect(json.vgaArbiter).toBeNull();
    const s = r.snap('peers-claimed');
    for (const a of pair) expect(s.driver.get(a)).toBe('vfio-pci');
    expect(s.devVfio).toContain(initial.group.get(roles.bridgedDisplay));
    expect(namesFor(s.netdevs, roles.bridgedNic)).toEqual([]);
    expect(namesFor(s.connectors, roles.bridgedDisplay)).toEqual([]);
    const v = r.cmd('peers-viability');
    expect(v.rc, v.failure).toBe(0);
    expect(r.json<ViabilityJson>('peers-viability')).toMatchObject({ sysfs: { viable: true }, ioctl: { viable: true }, agree: true });
  });

  it('release brings both back: bochs-drm with its connector, e1000 with its network interface', () => {
    const release = r.cmd('peers-release');
    expect(release.rc, release.failure).toBe(0);
    expect(r.json<ReleaseJson>('peers-release').functions.map((f) => [f.address, f.from, f.to])).toEqual(pair.map((a) => [a, 'vfio-pci', hostDriver(a)]));
    const s = r.snap('peers-released');
    for (const a of pair) {
      expect(s.driver.get(a)).toBe(hostDriver(a));
      expect(s.override.get(a)).toBe('(null)');
    }
    expect(namesFor(s.netdevs, roles.bridgedNic)).toHaveLength(1);
    expect(namesFor(s.connectors, roles.bridgedDisplay)).toHaveLength(1);
    expect(s.devVfio).not.toContain(initial.group.get(roles.bridgedDisplay));
    expect(s.memory?.functions).toEqual({});
    expect(s.processes).toEqual([]);
  });

  it('the four-function GPU moves as a whole and every function gets its own driver back', () => {
    expect(gpuFunctions.map((a) => initial.group.get(a))).toEqual(gpuFunctions.map(() => initial.group.get(roles.gpu)));
    const claim = r.cmd('fourfn-claim');
    expect(claim.rc, claim.failure).toBe(0);
    expect(r.json<ClaimJson>('fourfn-claim').functions.map((f) => [f.address, f.from, f.to])).toEqual(gpuFunctions.map((a) => [a, hostDriver(a), 'vfio-pci']));
    expect(r.json<ClaimJson>('fourfn-claim').vgaArbiter).toMatchObject({ kind: 'held' });
    const claimed = r.snap('fourfn-claimed');
    for (const a of gpuFunctions) expect(claimed.driver.get(a)).toBe('vfio-pci');
    const release = r.cmd('fourfn-release');
    expect(release.rc, release.failure).toBe(0);
    const s = r.snap('fourfn-released');
    for (const a of gpuFunctions) {
      expect(s.driver.get(a)).toBe(hostDriver(a));
      expect(s.override.get(a)).toBe('(null)');
    }
    expect(namesFor(s.connectors, roles.gpu)).toHaveLength(1);
    expect(namesFor(s.soundCards, roles.gpuAudio)).toHaveLength(1);
    expect(s.memory?.functions).toEqual({});
    expect(s.processes).toEqual([]);
  });
});
