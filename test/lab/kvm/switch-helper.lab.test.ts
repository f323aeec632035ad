// The whole switch through the real helper daemon in the KVM lab (workstation topology): `baton
// helper` runs as root inside L1 with a root-owned config naming two nested QEMU VMs (vm-a: the tiny
// kernel, hot-plug/hot-unplug; vm-b: guestless, started with the GPU and shut down to release it),
// and `baton switch` moves GPU A (VGA + HDA) host → vm-a → vm-b → host → vm-a. Every move is
// checked from sysfs (drivers), from the VMs (query-pci over a second QMP monitor) and from the
// helper's status; `baton history --json` has the step timings. Then the helper is SIGKILLed while a
// switch is in its reset step, and while one is in its attach step, and once with vm-a holding only
// function 1 (a hot-plug cut short between its two device_add commands); each time it is restarted
// with the same config and must have recovered to a recorded owner that sysfs and the VMs agree
// with. Last, a helper with a second config moves the NIC (an IOMMU group of its own: the stand-in
// for a USB controller carrying a keyboard) with GPU A into vm-a's second root port and back, and
// refuses a move into vm-b, which has no peer slot, rolling it back. Job:
// test/lab/kvm/switch-helper-job.sh.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { l1BootUnderLoad } from '../lib/l2-boot.js';
import { NestedResults } from '../lib/l2-results.js';
import { REPO_ROOT } from '../lib/paths.js';
import { buildTinyKernel, tinyKernelUnavailable } from '../lib/tiny-kernel.js';
import { workstation } from '../lib/topology.js';

interface PciFn { bus: number; slot: number; function: number; qdevId: string; vendor: number; device: number; parentBridge: string | null }
interface StatusJson {
  gpus: { name: string; address: string; owner: string; functions: string[]; busy: boolean }[];
  vms: { name: string; state: string; raw: string }[];
  disagreements: string[];
}
interface LookJson {
  drivers: Record<string, string>;
  vms: Record<string, { off: boolean; status: { status?: string } | null; tree: PciFn[] }>;
  status: StatusJson | null;
  statusError: string | null;
}
interface HistoryStep { name: string; outcome: string; ms: number; error?: string }
interface HistoryEntry { id: string; gpu: string; from: string; to: string; outcome: string; steps: HistoryStep[]; finalOwner: string; error?: string; requestedBy: string; rolledBack: string[] }
interface HistoryJson { entries: HistoryEntry[]; total: number }
interface JournalJson { switchId: string; from: string; to: string; current: string | null; phase: string; steps: HistoryStep[] }

const unavailable = kvmLabUnavailable() ?? tinyKernelUnavailable() ?? buildProject();

const { gpuA, gpuAAudio, nic } = workstation.roles as Record<'gpuA' | 'gpuAAudio' | 'nic', string>;
const L = '/run/baton-lab';
const CHECK = { 'vm-a': `${L}/vm-a.check.qmp`, 'vm-b': `${L}/vm-b.check.qmp` } as const;
const VMS = ['vm-a', 'vm-b'] as const;
const GPU_IDS = [[0, 0x1234, 0x1111], [1, 0x8086, 0x293e]];
const HOST_DRIVERS = { [gpuA]: 'bochs-drm', [gpuAAudio]: 'snd_hda_intel' };
const VFIO = { [gpuA]: 'vfio-pci', [gpuAAudio]: 'vfio-pci' };
/** The emulated e1000e, as QEMU's query-pci shows it behind vm-a's peer slot, and as the guest lists it (rp2's bus is 02). */
const NIC_ID = [0, 0x8086, 0x10d3];
const NIC_IN_GUEST = ' 0000:02:00.0=0x8086:0x10d3';

const MOVES = [
  { name: 'move-1-vm-a', from: 'host', to: 'vm-a', steps: ['claim', 'reset', 'vbios', 'attach', 'verify'] },
  { name: 'move-2-vm-b', from: 'vm-a', to: 'vm-b', steps: ['release', 'reset', 'vbios', 'attach', 'verify'] },
  { name: 'move-3-host', from: 'vm-b', to: 'host', steps: ['release', 'return-to-host', 'verify'] },
  { name: 'move-4-vm-a', from: 'host', to: 'vm-a', steps: ['claim', 'reset', 'vbios', 'attach', 'verify'] },
] as const;
const KILLS = [
  { name: 'kill-reset', step: 'reset', from: 'vm-a', to: 'vm-b' },
  { name: 'kill-attach', step: 'attach', from: 'host', to: 'vm-a' },
  // Frozen in attach, vm-a left holding function 1 only, then killed.
  { name: 'kill-attach-half', step: 'attach', from: 'host', to: 'vm-a' },
] as const;
/** Moves between the kills, to put the GPU where the next kill starts from. */
const POSITIONING = ['move-5-host', 'move-6-host'] as const;
/** The peer phase's moves (a helper with the NIC as GPU A's movable peer). */
const PEER_MOVES = ['peer-1-vm-a', 'peer-2-host', 'peer-3-vm-b'] as const;

describeOrSkip(unavailable, 'KVM lab: switches through the real helper between nested VMs and the host', () => {
  let r: NestedResults;
  const look = (name: string) => r.json<LookJson>(`${name}-look`);
  /** [function, vendor, device] of what a VM shows behind its root port in query-pci. */
  const gpuIn = (name: string, vm: keyof typeof CHECK, bridge = 'rp1') => (look(name).vms[CHECK[vm]]?.tree ?? [])
    .filter((f) => f.parentBridge === bridge).map((f) => [f.function, f.vendor, f.device]);
  const ownerIn = (name: string) => {
    const l = look(name);
    if (!l.status) throw new Error(`${name}: no status from the helper (${l.statusError})`);
    return l.status.gpus.find((g) => g.name === 'gpu-a')?.owner;
  };
  const history = () => r.json<HistoryJson>('history').entries;

  /** Where the machine itself says the GPU is, from sysfs and both VMs' query-pci. */
  function seenOwner(name: string): string {
    const drivers = Object.fromEntries(Object.entries(look(name).drivers).filter(([f]) => f !== nic));
    const holders = VMS.filter((vm) => gpuIn(name, vm).length > 0);
    if (holders.length > 1) return `conflict: ${holders.join(', ')}`;
    const vfio = Object.values(drivers).filter((d) => d === 'vfio-pci').length;
    if (holders.length === 1) {
      const vm = holders[0]!;
      // A VM owns the GPU only with both functions in its slot, and both on vfio-pci on the host.
      if (JSON.stringify(gpuIn(name, vm)) !== JSON.stringify(GPU_IDS)) return `${vm} holds only ${JSON.stringify(gpuIn(name, vm))}`;
      return vfio === 2 ? vm : `${vm} but drivers ${JSON.stringify(drivers)}`;
    }
    if (vfio === 2) return 'park';
    if (JSON.stringify(drivers) === JSON.stringify(HOST_DRIVERS)) return 'host';
    return `mixed ${JSON.stringify(drivers)}`;
  }

  beforeAll(async () => {
    const tiny = await buildTinyKernel();
    const run = await runInL1({
      name: 'kvm-switch-helper',
      topology: workstation,
      boot: l1BootUnderLoad,
      smp: 2,
      argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/switch-helper-job.sh')],
      env: { GPU_A: gpuA, GPU_A_AUDIO: gpuAAudio, NIC: nic, TINY_BZIMAGE: tiny.bzImage, TINY_INITRD: tiny.initrd },
      deadlineMs: 1_500_000,
    });
    r = new NestedResults(run.shareDir);
    const facts = r.facts();
    const lines = [`L1 run ${run.qemu.durationMs} ms, vm-a boot ${facts.vmaBootMs} ms, first helper up after ${facts.helper1UpMs} ms, job status ${run.status}`];
    for (const m of [...MOVES.map((m) => m.name), ...POSITIONING, 'move-7-vm-a', 'move-8-host', ...PEER_MOVES]) {
      if (r.has(m)) lines.push(`${m}: baton switch exit ${r.cmd(m).rc} in ${r.cmd(m).wallMs} ms (node start-up included)`);
    }
    KILLS.forEach((k, i) => lines.push(`${k.name}: helper signalled ${facts[`${k.name}-killedAfterMs`]} ms after \`baton switch\` started; restarted helper up after ${facts[`helper${i + 2}UpMs`]} ms`));
    if (r.has('history')) {
      for (const e of [...history()].reverse()) {
        lines.push(`history ${e.from} → ${e.to}: ${e.outcome}, owner ${e.finalOwner}; ${e.steps.map((s) => `${s.name} ${s.ms} ms${s.outcome === 'ok' ? '' : ` (${s.outcome})`}`).join(', ')}${e.error ? `; ${e.error}` : ''}`);
      }
    }
    if (r.has('peer-history')) {
      for (const e of [...r.json<HistoryJson>('peer-history').entries].reverse()) {
        lines.push(`peer history ${e.from} → ${e.to}: ${e.outcome}, owner ${e.finalOwner}; ${e.steps.map((s) => `${s.name} ${s.ms} ms${s.outcome === 'ok' ? '' : ` (${s.outcome})`}`).join(', ')}${e.error ? `; ${e.error}` : ''}`);
      }
    }
    lines.push(`helper exit on SIGTERM: ${facts.helperExit} after ${facts.helperExitMs} ms; the peer phase's helper: ${facts.peerHelperExit} after ${facts.peerHelperExitMs} ms`);
    process.stdout.write(lines.map((l) => `[switch-helper] ${l}\n`).join(''));
    if (run.status !== 0) throw new Error(describeRun(run));
  }, 2_700_000);

  it('the helper starts as root with a root-owned 0644 config and sees the GPU on the host', () => {
    expect(r.facts().config).toBe('root:root 644 folder root:root 755');
    expect(r.file('helper-1.log')).toMatch(/listening on \/run\/baton-lab\/helper\.sock/);
    expect(look('start').drivers).toEqual(HOST_DRIVERS);
    expect(r.drivers('initial')[nic]).toBe('e1000e');
    expect(ownerIn('start')).toBe('host');
    expect(look('start').status?.vms.map((v) => [v.name, v.state])).toEqual([['vm-a', 'running'], ['vm-b', 'shut-off']]);
  });

  describe.each(MOVES)('$name: $from → $to', (move) => {
    it('baton switch exits 0', () => {
      const cmd = r.cmd(move.name);
      expect(cmd.rc, `${cmd.out}\n${cmd.err}`).toBe(0);
      expect(cmd.out).toContain(`gpu-a is on ${move.to}`);
    });

    it('sysfs, both VMs and the helper agree on the new owner', () => {
      expect(look(move.name).drivers).toEqual(move.to === 'host' ? HOST_DRIVERS : VFIO);
      for (const vm of VMS) expect(gpuIn(move.name, vm), vm).toEqual(vm === move.to ? GPU_IDS : []);
      expect(seenOwner(move.name)).toBe(move.to);
      expect(ownerIn(move.name)).toBe(move.to);
    });
  });

  it('vm-b is started by the helper with the GPU and shut down to give it back', () => {
    expect(look('move-2-vm-b').vms[CHECK['vm-b']]?.off).toBe(false);
    expect(look('move-3-host').vms[CHECK['vm-b']]?.off).toBe(true);
    expect(look('move-3-host').status?.vms.find((v) => v.name === 'vm-b')?.state).toBe('shut-off');
    // vm-a (the tiny-kernel guest) keeps running throughout: it gave the GPU back by hot-unplug.
    expect(look('move-3-host').vms[CHECK['vm-a']]?.status?.status).toBe('running');
  });

  it('baton history --json has every move with its steps, each ok with a duration in ms', () => {
    const entries = [...history()].reverse().slice(0, MOVES.length);
    expect(entries.map((e) => [e.from, e.to, e.outcome, e.requestedBy])).toEqual(MOVES.map((m) => [m.from, m.to, 'succeeded', 'cli']));
    entries.forEach((e, i) => {
      expect(e.steps.map((s) => s.name)).toEqual(MOVES[i]!.steps);
      for (const s of e.steps) {
        expect(s.outcome).toBe('ok');
        expect(typeof s.ms).toBe('number');
        expect(s.ms).toBeGreaterThanOrEqual(0);
      }
    });
  });

  describe.each(KILLS)('$name: helper killed during $step of $from → $to', (kill) => {
    /** The journal record the killer saw when it signalled the helper. */
    const journal = () => (JSON.parse(r.file(`${kill.name}-killer.json`) || '{"record":null}') as { record: JournalJson | null }).record;

    it('was killed while the journal said the switch was in that step', () => {
      expect(r.facts()[`${kill.name}-killerRc`], r.file(`${kill.name}-killer.err`)).toBe('0');
      expect(journal()).toMatchObject({ from: kill.from, to: kill.to, current: kill.step, phase: 'forward' });
      // The client lost its helper mid-switch.
      expect(Number(r.facts()[`${kill.name}-clientRc`])).not.toBe(0);
    });

    it('the restarted helper recovered to a recorded owner that sysfs and the VMs agree with', () => {
      const owner = ownerIn(`${kill.name}-recovered`);
      expect([kill.from, kill.to]).toContain(owner);
      expect(seenOwner(`${kill.name}-recovered`)).toBe(owner);
      expect(look(`${kill.name}-recovered`).status?.gpus[0]?.busy).toBe(false);
      expect(r.facts()[`${kill.name}-journalLeft`]).toBe('no');
      expect(r.file(`helper-${KILLS.indexOf(kill) + 2}.log`)).toMatch(/recovered switch/);
    });

    it('history has the interrupted switch, and its error says the helper stopped during that step', () => {
      const id = journal()?.switchId;
      const entry = history().find((e) => e.id === id);
      expect(entry, `no history entry ${id}`).toBeDefined();
      expect(entry!.error).toMatch(new RegExp(`the helper stopped during ${kill.step}`));
      expect(entry!.steps).toContainEqual(expect.objectContaining({ name: kill.step, outcome: 'failed', error: 'the helper stopped during this step' }));
      expect(entry!.finalOwner).toBe(ownerIn(`${kill.name}-recovered`));
      for (const s of entry!.steps) expect(s.ms).toBeGreaterThanOrEqual(0);
    });
  });

  it('kill-reset: vm-a had already let go; recovery hot-plugged the GPU back into vm-a', () => {
    expect(seenOwner('kill-reset-killed')).toBe('park');
    expect(seenOwner('kill-reset-recovered')).toBe('vm-a');
  });

  it('kill-attach-half really left vm-a with function 1 alone in the slot, and recovery did not call that a success', () => {
    expect(r.facts()['kill-attach-half-frozenWith']).not.toBe('both');
    expect(gpuIn('kill-attach-half-half', 'vm-a')).toEqual([GPU_IDS[1]]);
    expect(look('kill-attach-half-killed').drivers).toEqual(VFIO);
    const id = journal('kill-attach-half')?.switchId;
    expect(history().find((e) => e.id === id)?.outcome).not.toBe('succeeded');
  });

  it('after the recoveries the helper still moves the GPU', () => {
    for (const name of [...POSITIONING, 'move-7-vm-a', 'move-8-host']) {
      const cmd = r.cmd(name);
      expect(cmd.rc, `${name}: ${cmd.out}\n${cmd.err}`).toBe(0);
    }
    expect(seenOwner('move-5-host')).toBe('host');
    expect(seenOwner('move-6-host')).toBe('host');
    expect(seenOwner('move-7-vm-a')).toBe('vm-a');
    expect(seenOwner('move-8-host')).toBe('host');
  });

  it('ends on SIGTERM while connected to a running VM', () => {
    expect(r.facts().helperExit).toBe('0');
  });

  describe('a movable peer outside the GPU\'s IOMMU group (the NIC) moves with it', () => {
    const peerHistory = () => [...r.json<HistoryJson>('peer-history').entries].reverse();
    const HOST_WITH_NIC = { ...HOST_DRIVERS, [nic]: 'e1000e' };
    const VFIO_WITH_NIC = { ...VFIO, [nic]: 'vfio-pci' };

    it('the second config names it, and the helper sees GPU A and the NIC on the host', () => {
      expect(r.file('baton-peer.yaml')).toContain(`movablePeers: ["${gpuAAudio}", "${nic}"]`);
      expect(look('peer-start').drivers).toEqual(HOST_WITH_NIC);
      expect(look('peer-start').status?.gpus.find((g) => g.name === 'gpu-a')).toMatchObject({ owner: 'host', functions: [gpuA, gpuAAudio, nic] });
    });

    it('host → vm-a: the GPU in rp1 and the NIC in rp2, all three on vfio-pci, and the guest sees the NIC', () => {
      const cmd = r.cmd('peer-1-vm-a');
      expect(cmd.rc, `${cmd.out}\n${cmd.err}`).toBe(0);
      expect(look('peer-1-vm-a').drivers).toEqual(VFIO_WITH_NIC);
      expect(gpuIn('peer-1-vm-a', 'vm-a')).toEqual(GPU_IDS);
      expect(gpuIn('peer-1-vm-a', 'vm-a', 'rp2')).toEqual([NIC_ID]);
      expect(ownerIn('peer-1-vm-a')).toBe('vm-a');
      // The tiny kernel prints its PCI functions whenever they change: the NIC appeared in vm-a's guest.
      const pciLines = r.file('vm-a-serial.log').split('\n').filter((l) => l.startsWith('l2-pci '));
      expect(r.facts().peerGuestNicExtraWaitMs, pciLines.slice(-3).join('\n')).toMatch(/^\d+$/);
      expect(pciLines.some((l) => l.includes(NIC_IN_GUEST))).toBe(true);
    });

    it('vm-a → host: both leave vm-a, and the NIC is back on e1000e', () => {
      const cmd = r.cmd('peer-2-host');
      expect(cmd.rc, `${cmd.out}\n${cmd.err}`).toBe(0);
      expect(look('peer-2-host').drivers).toEqual(HOST_WITH_NIC);
      expect(gpuIn('peer-2-host', 'vm-a')).toEqual([]);
      expect(gpuIn('peer-2-host', 'vm-a', 'rp2')).toEqual([]);
      expect(ownerIn('peer-2-host')).toBe('host');
      // The guest's last view of its PCI functions has no NIC left.
      const pciLines = r.file('vm-a-serial.log').split('\n').filter((l) => l.startsWith('l2-pci '));
      expect(r.facts().peerGuestNicGoneExtraWaitMs, pciLines.slice(-2).join('\n')).toMatch(/^\d+$/);
      expect(pciLines.at(-1) ?? '').not.toContain(' 0000:02:00.0=');
    });

    it('host → vm-b (no peer slot on QEMU) is refused at its attach before vm-b starts, and rolled back', () => {
      const cmd = r.cmd('peer-3-vm-b');
      expect(cmd.rc).not.toBe(0);
      expect(look('peer-3-vm-b').drivers).toEqual(HOST_WITH_NIC);
      expect(look('peer-3-vm-b').vms[CHECK['vm-b']]?.off).toBe(true);
      expect(ownerIn('peer-3-vm-b')).toBe('host');
      const entry = peerHistory()[2]!;
      expect([entry.from, entry.to, entry.outcome, entry.finalOwner]).toEqual(['host', 'vm-b', 'rolled-back', 'host']);
      expect(entry.error).toContain(`vm-b runs on QEMU, which cannot pick a guest slot: ${nic}`);
      // Refused before the start: the attach is the last step, and the only undo is the claim's
      // (a started vm-b would have pushed "shut vm-b down again" first).
      expect(entry.steps.map((s) => [s.name, s.outcome]).at(-1)).toEqual(['attach', 'failed']);
      expect(entry.rolledBack).toEqual(['give gpu-a back to the host drivers']);
    });

    it('the history has the two moves with their steps, and the helper ends on SIGTERM', () => {
      const [toVm, toHost] = peerHistory();
      expect([toVm?.to, toVm?.outcome, toHost?.to, toHost?.outcome]).toEqual(['vm-a', 'succeeded', 'host', 'succeeded']);
      expect(toVm?.steps.map((s) => s.name)).toEqual(MOVES[0].steps);
      expect(toHost?.steps.map((s) => s.name)).toEqual(MOVES[2].steps);
      expect(r.facts().peerHelperExit).toBe('0');
      expect(r.drivers('peer-end')).toEqual(HOST_WITH_NIC);
    });
  });

  function journal(name: string): JournalJson | null {
    return (JSON.parse(r.file(`${name}-killer.json`) || '{"record":null}') as { record: JournalJson | null }).record;
  }
});
