// The host side of a switch on a live kernel: the "workstation" topology booted in L1, GPU A moved
// between its host drivers (bochs-drm, snd_hda_intel) and vfio-pci by the real CLI, again and again;
// group viability (VFIO_GROUP_GET_STATUS against the sysfs rule) in every state; a nested QEMU (L2)
// holding the GPU through VFIO; bus and VFIO hot resets; VBIOS capture from the three display
// devices. One L1 boot runs handoff-job.sh; the assertions read what it recorded.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { JobResults, namesFor, spread, type Snapshot } from '../lib/job-results.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { REPO_ROOT } from '../lib/paths.js';
import { workstation } from '../lib/topology.js';

/** The issue asks for 20 in a row; BATON_LAB_HANDOFF_CYCLES may lower it where lab time is short. */
const CYCLES = Number(process.env.BATON_LAB_HANDOFF_CYCLES ?? 20);
const roles = workstation.roles as Record<'bootVga' | 'gpuA' | 'gpuAAudio' | 'gpuB' | 'gpuBAudio' | 'nic', string>;
const gpuAFunctions = [roles.gpuA, roles.gpuAAudio];

interface Moved { address: string; from: string | null; to: string | null; ms: number }
interface ViabilityJson {
  group: number;
  sysfs: { viable: boolean; blockers: string[] };
  ioctl: { viable: boolean; containerSet: boolean } | null;
  ioctlError: string | null;
  agree: boolean | null;
}
interface ArbiterJson { kind: string; state?: { locks: string } }
interface ClaimJson { ok: boolean; gpu: string; group: number; functions: Moved[]; viability: ViabilityJson | null; vgaArbiter: ArbiterJson | null; ms: number }
interface ReleaseJson { ok: boolean; gpu: string; functions: Moved[]; consoleErrors: string[]; vgaArbiter: ArbiterJson | null; ms: number }
interface ResetJson { ok: boolean; gpu: string; resets: { address: string; method: string; ms: number; vendorAfter: string }[]; ms: number }
interface RomReportJson {
  verdict: string;
  images: { vendor: number; device: number }[];
  findings: { code: string; severity: string }[];
}
interface CaptureJson extends RomReportJson { vendor: string; device: string; class: string; shadow: boolean }
interface CheckJson extends RomReportJson { device: { address: string; vendor: string; device: string } | null }

const unavailable = kvmLabUnavailable() ?? buildProject();

const hex = (n: number) => n.toString(16).padStart(4, '0');
const cycles = Array.from({ length: CYCLES }, (_, i) => i + 1);

describeOrSkip(unavailable, 'KVM lab: GPU handoff on a live kernel (workstation)', () => {
  let r: JobResults;
  let initial: Snapshot;
  let group: string;
  /** The host drivers each watched function had at boot, e.g. bochs-drm and snd_hda_intel for GPU A. */
  let hostDriver: (address: string) => string;

  beforeAll(async () => {
    const run = await runInL1({
      name: 'kvm-handoff',
      topology: workstation,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/handoff-job.sh')],
      env: {
        BOOT_VGA: roles.bootVga, GPU_A: roles.gpuA, GPU_A_AUDIO: roles.gpuAAudio,
        GPU_B: roles.gpuB, GPU_B_AUDIO: roles.gpuBAudio, NIC: roles.nic, CYCLES: String(CYCLES),
      },
      deadlineMs: 840_000,
    });
    if (run.status !== 0) throw new Error(describeRun(run));
    r = new JobResults(run.shareDir);
    initial = r.snap('initial');
    group = initial.group.get(roles.gpuA) ?? '?';
    hostDriver = (address) => {
      const d = initial.driver.get(address);
      if (!d || d === 'none') throw new Error(`${address} had no host driver at boot`);
      return d;
    };
    writeFileSync(join(run.outDir, 'durations.json'), JSON.stringify(durations(r), null, 2));
    process.stdout.write(`[kvm handoff] measured durations (ms; wall = in L1 around the CLI, node start-up included):\n${JSON.stringify(durations(r), null, 2)}\n`);
  });

  it('boots with GPU A on its host drivers, both functions in one IOMMU group, a connector and a sound card', () => {
    expect(hostDriver(roles.gpuA)).toBe('bochs-drm');
    expect(hostDriver(roles.gpuAAudio)).toBe('snd_hda_intel');
    expect(initial.group.get(roles.gpuAAudio)).toBe(group);
    expect(namesFor(initial.connectors, roles.gpuA)).toHaveLength(1);
    expect(namesFor(initial.soundCards, roles.gpuAAudio)).toHaveLength(1);
    expect(initial.devVfio).not.toContain(group);
  });

  describe(`claim and release, ${CYCLES} times in a row`, () => {
    it.each(cycles)('cycle %i: claim moves both functions to vfio-pci; the group is viable to the kernel and by the sysfs rule', (i) => {
      const claim = r.cmd(`claim-${i}`);
      expect(claim.rc, claim.failure).toBe(0);
      const json = r.json<ClaimJson>(`claim-${i}`);
      expect(json.functions.map((f) => [f.address, f.from, f.to])).toEqual(gpuAFunctions.map((a) => [a, hostDriver(a), 'vfio-pci']));
      expect(String(json.group)).toBe(group);
      expect(json.viability).toMatchObject({ sysfs: { viable: true }, ioctl: { viable: true }, agree: true });
      // GPU A is VGA class: the handoff ran holding the arbiter's lock, and let go of it.
      expect(json.vgaArbiter).toMatchObject({ kind: 'held', state: { locks: 'io+mem' } });

      const s = r.snap(`claimed-${i}`);
      expect(s.arbiter.get(roles.gpuA)?.locks).toBe('none(0:0)');
      for (const a of gpuAFunctions) {
        expect(s.driver.get(a)).toBe('vfio-pci');
        expect(s.override.get(a)).toBe('vfio-pci');
      }
      expect(s.devVfio).toContain(group);
      expect(namesFor(s.connectors, roles.gpuA)).toEqual([]);
      expect(namesFor(s.soundCards, roles.gpuAAudio)).toEqual([]);
      expect(Object.keys(s.memory?.functions ?? {}).sort()).toEqual(gpuAFunctions);
      expect(s.processes).toEqual([]);
    });

    it.each(cycles)('cycle %i: release gives both functions back; connector and sound card return; nothing is left over', (i) => {
      const release = r.cmd(`release-${i}`);
      expect(release.rc, release.failure).toBe(0);
      const json = r.json<ReleaseJson>(`release-${i}`);
      expect(json.functions.map((f) => [f.address, f.from, f.to])).toEqual(gpuAFunctions.map((a) => [a, 'vfio-pci', hostDriver(a)]));
      expect(json.consoleErrors).toEqual([]);
      expect(json.vgaArbiter).toMatchObject({ kind: 'held' });

      const s = r.snap(`released-${i}`);
      for (const a of [roles.gpuA, roles.bootVga]) expect(s.arbiter.get(a)?.locks).toBe('none(0:0)');
      for (const a of gpuAFunctions) {
        expect(s.driver.get(a)).toBe(hostDriver(a));
        expect(s.override.get(a)).toBe('(null)');
      }
      expect(namesFor(s.connectors, roles.gpuA)).toHaveLength(1);
      expect(namesFor(s.soundCards, roles.gpuAAudio)).toHaveLength(1);
      expect(s.devVfio).not.toContain(group);
      expect(s.memory?.functions).toEqual({});
      expect(s.processes).toEqual([]);
    });

    it('every claim and release ran in one process (cli-batch) that holds no more file descriptors after the last cycle than after the first', () => {
      const fds = (name: string) => Number(r.cmd(name).extra.fds);
      expect(r.facts().batchExit).toBe('0');
      expect(fds('release-1')).toBeGreaterThan(0);
      expect(fds(`release-${CYCLES}`)).toBe(fds('release-1'));
      expect(fds(`claim-${CYCLES}`)).toBe(fds('claim-1'));
    });

    it('leaves the other devices alone through all cycles', () => {
      const last = r.snap(`released-${CYCLES}`);
      for (const a of [roles.bootVga, roles.gpuB, roles.gpuBAudio, roles.nic]) expect(last.driver.get(a)).toBe(initial.driver.get(a));
      expect(namesFor(last.connectors, roles.gpuB)).toEqual(namesFor(initial.connectors, roles.gpuB));
      expect(namesFor(last.soundCards, roles.gpuBAudio)).toEqual(namesFor(initial.soundCards, roles.gpuBAudio));
    });
  });

  describe('a movable peer outside the GPU\'s IOMMU group (the NIC, in a group of its own: the USB-controller case)', () => {
    it('one claim moves GPU A and the NIC to vfio-pci; both groups are open to VFIO', () => {
      const claim = r.cmd('peer-claim');
      expect(claim.rc, claim.failure).toBe(0);
      const json = r.json<ClaimJson>('peer-claim');
      expect(json.functions.map((f) => [f.address, f.from, f.to])).toEqual([...gpuAFunctions, roles.nic].map((a) => [a, hostDriver(a), 'vfio-pci']));
      const s = r.snap('peer-claimed');
      for (const a of [...gpuAFunctions, roles.nic]) expect(s.driver.get(a), a).toBe('vfio-pci');
      expect(s.devVfio).toContain(group);
      expect(s.devVfio).toContain(initial.group.get(roles.nic));
      expect(Object.keys(s.memory?.functions ?? {}).sort()).toEqual([...gpuAFunctions, roles.nic].sort());
    });

    it('one release gives all three back to their own drivers; the NIC\'s network interface returns', () => {
      const release = r.cmd('peer-release');
      expect(release.rc, release.failure).toBe(0);
      const s = r.snap('peer-released');
      for (const a of [...gpuAFunctions, roles.nic]) {
        expect(s.driver.get(a), a).toBe(initial.driver.get(a));
        expect(s.override.get(a), a).toBe('(null)');
      }
      expect(namesFor(s.netdevs, roles.nic)).toEqual(namesFor(initial.netdevs, roles.nic));
      expect(s.devVfio).not.toContain(initial.group.get(roles.nic));
      expect(s.memory?.functions).toEqual({});
    });
  });

  describe('viability: the kernel (VFIO_GROUP_GET_STATUS) and the sysfs rule agree', () => {
    it('claimed: viable both ways', () => {
      const v = r.cmd('viab-claimed');
      expect(v.rc, v.failure).toBe(0);
      expect(r.json<ViabilityJson>('viab-claimed')).toMatchObject({ sysfs: { viable: true, blockers: [] }, ioctl: { viable: true }, agree: true });
    });

    it('audio function put back on snd_hda_intel by hand, function 0 on vfio-pci: not viable both ways, the blocker named', () => {
      const s = r.snap('viab-mixed');
      expect(s.driver.get(roles.gpuA)).toBe('vfio-pci');
      expect(s.driver.get(roles.gpuAAudio)).toBe(hostDriver(roles.gpuAAudio));
      const v = r.cmd('viab-mixed');
      expect(v.rc).toBe(1);
      const json = r.json<ViabilityJson>('viab-mixed');
      expect(json.sysfs.viable).toBe(false);
      expect(json.sysfs.blockers).toEqual([`${roles.gpuAAudio} is bound to ${hostDriver(roles.gpuAAudio)}`]);
      expect(json.ioctl).toMatchObject({ viable: false });
      expect(json.agree).toBe(true);
    });

    it('claim again moves only the stray function, and the group is viable again', () => {
      const claim = r.cmd('viab-reclaim');
      expect(claim.rc, claim.failure).toBe(0);
      expect(r.json<ClaimJson>('viab-reclaim').functions.map((f) => [f.address, f.from, f.to])).toEqual([[roles.gpuAAudio, hostDriver(roles.gpuAAudio), 'vfio-pci']]);
      expect(r.json<ViabilityJson>('viab-reclaimed')).toMatchObject({ sysfs: { viable: true }, ioctl: { viable: true }, agree: true });
    });

    it('while a VM holds the group, the kernel cannot be asked (the group is busy) and Baton says so', () => {
      const v = r.cmd('nested-viability');
      expect(v.rc, v.failure).toBe(0);
      const json = r.json<ViabilityJson>('nested-viability');
      expect(json.ioctl).toBeNull();
      expect(json.ioctlError).toMatch(/open by another process/);
      expect(json.agree).toBeNull();
      expect(json.sysfs.viable).toBe(true);
    });
  });

  describe('a nested VM (L2 QEMU, -name guest=vm-a) holds GPU A through VFIO', () => {
    it('L2 opened the group and realized both functions as vfio-pci devices', () => {
      const facts = r.facts();
      const s = r.snap('nested-holding');
      expect(s.processes.find((p) => p.pid === Number(facts.l2Pid))?.comm).toMatch(/^qemu-system-/);
      // QMP qom-get type / host / realized of gpu-a and gpu-a-audio, in that order.
      const answers = readShare(r, 'l2-qom.json').split(/\r?\n/).filter((l) => l.startsWith('{"return"')).slice(1);
      expect(answers).toEqual(gpuAFunctions.flatMap((a) => ['{"return": "vfio-pci"}', `{"return": "${a}"}`, '{"return": true}']));
    });

    it('release is refused at once, naming the process and the VM, exit 1; nothing changes', () => {
      const release = r.cmd('nested-release');
      expect(release.rc).toBe(1);
      const pid = r.facts().l2Pid;
      // The kernel-level in-use check (EINUSE) refuses before the unbind is written.
      expect(release.failure).toContain(`(IOMMU group ${group}) is in use:`);
      expect(release.failure).toMatch(new RegExp(`qemu-system-\\S* \\(pid ${pid}, VM vm-a\\) holds /dev/vfio/${group}`));
      const after = r.snap('nested-after');
      for (const a of gpuAFunctions) expect(after.driver.get(a)).toBe('vfio-pci');
      expect(r.facts().l2HoldsAfter).toBe(pid);
    });

    it('a hot reset is refused by the in-use check, naming the process, instead of being tried', () => {
      const reset = r.cmd('nested-reset');
      expect(reset.rc).toBe(1);
      expect(reset.failure).toContain(`refusing to VFIO hot reset of ${roles.gpuA}`);
      expect(reset.failure).toContain(`(pid ${r.facts().l2Pid}, VM vm-a) holds /dev/vfio/${group}`);
    });

    it('after L2 is killed, release succeeds and GPU A is fully back on the host', () => {
      const release = r.cmd('nested-release-after');
      expect(release.rc, release.failure).toBe(0);
      const s = r.snap('final');
      for (const a of gpuAFunctions) {
        expect(s.driver.get(a)).toBe(hostDriver(a));
        expect(s.override.get(a)).toBe('(null)');
      }
      expect(namesFor(s.connectors, roles.gpuA)).toHaveLength(1);
      expect(namesFor(s.soundCards, roles.gpuAAudio)).toHaveLength(1);
      expect(s.devVfio).not.toContain(group);
      expect(s.memory?.functions).toEqual({});
      expect(s.processes).toEqual([]);
    });
  });

  describe('reset', () => {
    it('the std VGA on the root bus reports "no reset method", exit 1', () => {
      expect(r.facts().resetMethodBootVga).toBe('none');
      const reset = r.cmd('reset-bootvga');
      expect(reset.rc).toBe(1);
      expect(reset.failure).toContain('no reset method');
    });

    it('on host drivers, the kernel lists "bus" for function 0 but refuses it (two functions share the bus): exit 1, pointing to hot_reset', () => {
      expect(r.facts().resetMethodA?.split(' ')).toContain('bus');
      const auto = r.cmd('reset-host-auto');
      expect(auto.rc).toBe(1);
      expect(auto.failure).toMatch(/ENOTTY/);
      expect(auto.failure).toMatch(/--method hot_reset/);
      const bus = r.cmd('reset-host-bus');
      expect(bus.rc).toBe(1);
      expect(bus.failure).toMatch(/lists bus .* refuses it/);
      expect(bus.failure).toMatch(/--method hot_reset/);
      const s = r.snap('after-host-resets');
      for (const a of gpuAFunctions) expect(s.driver.get(a)).toBe(hostDriver(a));
      expect(namesFor(s.connectors, roles.gpuA)).toHaveLength(1);
    });

    it('claimed: --method hot_reset runs VFIO_DEVICE_PCI_HOT_RESET and both functions answer afterwards', () => {
      const reset = r.cmd('reset-hot');
      expect(reset.rc, reset.failure).toBe(0);
      const json = r.json<ResetJson>('reset-hot');
      expect(json.resets.map((x) => [x.address, x.method, `0x${x.vendorAfter}`])).toEqual(gpuAFunctions.map((a) => [a, 'hot_reset', initial.vendor.get(a)]));
    });

    it('claimed: auto falls back to the hot reset; the group stays viable', () => {
      const reset = r.cmd('reset-claimed-auto');
      expect(reset.rc, reset.failure).toBe(0);
      expect(r.json<ResetJson>('reset-claimed-auto').resets.map((x) => x.method)).toEqual(['hot_reset', 'hot_reset']);
      expect(r.json<ViabilityJson>('viab-after-reset')).toMatchObject({ sysfs: { viable: true }, ioctl: { viable: true }, agree: true });
    });

    it('function 0 alone on its bus (audio function removed): the kernel\'s bus reset works, by name and by auto', () => {
      expect(r.facts().aloneResetMethod).toBe('bus');
      for (const name of ['reset-alone-bus', 'reset-alone-auto']) {
        const reset = r.cmd(name);
        expect(reset.rc, reset.failure).toBe(0);
        expect(r.json<ResetJson>(name).resets.map((x) => [x.address, x.method, `0x${x.vendorAfter}`])).toEqual([[roles.gpuA, 'bus', initial.vendor.get(roles.gpuA)]]);
      }
      // The audio function comes back on a rescan, with its driver.
      expect(r.snap('alone-after').driver.get(roles.gpuAAudio)).toBe(hostDriver(roles.gpuAAudio));
    });
  });

  describe('VBIOS capture from the live display devices', () => {
    it.each(['BOOT_VGA', 'GPU_A', 'GPU_B'] as const)('%s: the captured ROM parses as a valid image whose ids match the device', (role) => {
      const address = { BOOT_VGA: roles.bootVga, GPU_A: roles.gpuA, GPU_B: roles.gpuB }[role];
      const capture = r.cmd(`vbios-capture-${role}`);
      expect(capture.rc, capture.failure).toBe(0);
      const c = r.json<CaptureJson>(`vbios-capture-${role}`);
      expect(c.verdict).toBe('valid');
      expect(`0x${c.vendor}`).toBe(initial.vendor.get(address));
      expect(c.images[0] && [hex(c.images[0].vendor), hex(c.images[0].device)]).toEqual([c.vendor, c.device]);
      expect(c.shadow).toBe(address === roles.bootVga);
      const check = r.cmd(`vbios-check-${role}`);
      expect(check.rc, check.failure).toBe(0);
      const k = r.json<CheckJson>(`vbios-check-${role}`);
      expect(k.verdict).toBe('valid');
      expect(k.device).toMatchObject({ address, vendor: c.vendor, device: c.device });
      expect(k.findings.filter((f) => f.severity === 'error')).toEqual([]);
    });

    it.each([
      ['truncated', 'truncated'],
      ['checksum', 'bad-checksum'],
      ['signature', 'no-signature'],
    ])('a %s copy of GPU A\'s live capture is rejected: %s', (variant, code) => {
      const check = r.cmd(`vbios-corrupt-${variant}`);
      expect(check.rc).toBe(1);
      const k = r.json<CheckJson>(`vbios-corrupt-${variant}`);
      expect(k.verdict).toBe('invalid');
      expect(k.findings.filter((f) => f.severity === 'error').map((f) => f.code)).toContain(code);
    });

    it('GPU A\'s ROM checked for the NIC is rejected as another vendor\'s', () => {
      const check = r.cmd('vbios-wrong-device');
      expect(check.rc).toBe(1);
      expect(r.json<CheckJson>('vbios-wrong-device').findings.map((f) => f.code)).toContain('vendor-mismatch');
    });
  });
});

function readShare(r: JobResults, file: string): string {
  const path = join(r.dir, file);
  return existsSync(path) ? readFileSync(path, 'utf8') : `(no ${path})`;
}

/** What the job measured, for the printed summary and the README. */
function durations(r: JobResults): Record<string, unknown> {
  const some = (names: string[]) => names.filter((n) => r.has(n)).map((n) => r.cmd(n));
  const inProcess = <T extends { ms: number }>(names: string[]) => names.filter((n) => r.has(n) && r.cmd(n).rc === 0).map((n) => r.json<T>(n).ms);
  const claims = cycles.map((i) => `claim-${i}`);
  const releases = cycles.map((i) => `release-${i}`);
  const resetMs = (name: string) => (r.has(name) && r.cmd(name).rc === 0 ? r.json<ResetJson>(name).resets.map((x) => x.ms) : null);
  const facts = r.facts();
  return {
    nodeStartMs: Number(facts.nodeStartMs),
    claim: { wallMs: spread(some(claims).map((c) => c.wallMs)), inProcessMs: spread(inProcess(claims)) },
    release: {
      wallMs: spread(some(releases).map((c) => c.wallMs)),
      inProcessMs: spread(inProcess(releases)),
      connectorBackWaitMs: spread(some(releases).map((c) => Number(c.extra.connectorWaitMs))),
      soundCardBackWaitMs: spread(some(releases).map((c) => Number(c.extra.soundWaitMs))),
    },
    hotResetMs: resetMs('reset-hot'),
    autoResetClaimedMs: resetMs('reset-claimed-auto'),
    busResetAloneMs: resetMs('reset-alone-bus'),
    autoResetAloneMs: resetMs('reset-alone-auto'),
    nested: {
      l2HoldsGroupAfterMs: Number(facts.l2HoldMs),
      refusedReleaseWallMs: r.has('nested-release') ? r.cmd('nested-release').wallMs : null,
      refusedResetWallMs: r.has('nested-reset') ? r.cmd('nested-reset').wallMs : null,
      releaseAfterKillInProcessMs: inProcess(['nested-release-after'])[0] ?? null,
    },
  };
}
