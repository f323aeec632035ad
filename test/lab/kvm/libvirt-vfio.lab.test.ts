// GPU A handed to a libvirt domain through vfio-pci, on a live kernel: the "workstation" topology
// booted in L1, libvirtd started inside it, a guestless TCG domain lv-a, GPU A claimed by the real
// CLI and attached by the project's LibvirtBackend; the live domain XML and QEMU's object tree show
// both functions; the NIC, a movable peer in an IOMMU group of its own (the stand-in for a USB
// controller), goes to a root port libvirt picks; detach without a guest ends in
// GuestDidNotReleaseError; destroy + release give GPU A and the NIC back. One L1 boot runs libvirt-vfio-job.sh; the assertions read what it recorded.
// If libvirtd cannot run in L1, the suite fails with the daemon's own error output.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { buildProject } from '../lib/build.js';
import { JobResults, namesFor, type Snapshot } from '../lib/job-results.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { REPO_ROOT } from '../lib/paths.js';
import { workstation } from '../lib/topology.js';

const roles = workstation.roles as Record<'gpuA' | 'gpuAAudio' | 'nic', string>;
const gpuAFunctions = [roles.gpuA, roles.gpuAAudio];
/** What the claim moves: GPU A's functions and the peer the config names. */
const claimed = [...gpuAFunctions, roles.nic];
const aliasOf = (address: string) => `ua-baton-gpu-${address.replace(/[:.]/g, '-')}`;

interface BackendRun {
  ok: boolean;
  result?: { deviceIds: string[]; guestSlot: { bus: string; slot: number }; verifiedBy: string };
  error?: { name: string; kind: string | null; message: string; pendingDevices: string[] | null; deadlineMs: number | null };
  ms: number;
}
interface Moved { address: string; from: string | null; to: string | null }

const unavailable = kvmLabUnavailable() ?? libvirtMissing() ?? buildProject();

/** libvirt reaches L1 through the host root: it must be installed on the host. */
function libvirtMissing(): string | undefined {
  for (const bin of ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh']) {
    if (!existsSync(bin)) return `${bin} is missing on the host (test/lab/setup.sh installs libvirt)`;
  }
  return undefined;
}

/** The PCI host addresses of the <hostdev type='pci'> elements of a domain XML, with their aliases. */
function pciHostdevs(xml: string): { host: string; alias: string | null; managed: string | null; guest: { bus: number; slot: number; fn: number } | null }[] {
  const hex = (s: string | undefined) => parseInt(s ?? 'x', 16);
  return [...xml.matchAll(/<hostdev\b[^>]*\btype='pci'[^>]*>([\s\S]*?)<\/hostdev>/g)].map((m) => {
    const body = m[1] ?? '';
    const src = /<source[^>]*>\s*<address\s+domain='0x([0-9a-f]+)'\s+bus='0x([0-9a-f]+)'\s+slot='0x([0-9a-f]+)'\s+function='0x([0-9a-f]+)'/.exec(body);
    const host = src
      ? `${hex(src[1]).toString(16).padStart(4, '0')}:${hex(src[2]).toString(16).padStart(2, '0')}:${hex(src[3]).toString(16).padStart(2, '0')}.${hex(src[4]).toString(16)}`
      : '?';
    const guest = /<address\s+type='pci'\s+domain='0x[0-9a-f]+'\s+bus='0x([0-9a-f]+)'\s+slot='0x([0-9a-f]+)'\s+function='0x([0-9a-f]+)'/.exec(body);
    return {
      host, alias: /<alias name='([^']+)'/.exec(body)?.[1] ?? null, managed: /managed='(\w+)'/.exec(m[0])?.[1] ?? null,
      guest: guest ? { bus: hex(guest[1]), slot: hex(guest[2]), fn: hex(guest[3]) } : null,
    };
  });
}

const run = unavailable ? null : await runInL1({
  name: 'kvm-libvirt-vfio',
  topology: workstation,
  argv: ['/bin/sh', join(REPO_ROOT, 'test/lab/kvm/libvirt-vfio-job.sh')],
  // A keyboard in L1 for the input phase: the evdev node a relay would hand to the domain.
  extraArgs: ['-device', 'virtio-keyboard-pci,id=lab-kbd,bus=pcie.0,addr=0x5'],
  env: { GPU_A: roles.gpuA, GPU_A_AUDIO: roles.gpuAAudio, NIC: roles.nic },
  deadlineMs: 900_000,
});
if (run && run.status !== 0) throw new Error(describeRun(run));
const results = run ? new JobResults(run.shareDir) : null;

/** Why libvirtd could not run in L1, in the daemon's own words; undefined when it answered. */
function daemonDown(r: JobResults): string | undefined {
  const facts = r.facts();
  if (facts.libvirtdUp === 'yes') return undefined;
  const read = (f: string) => (existsSync(join(r.dir, 'libvirt', f)) ? readFileSync(join(r.dir, 'libvirt', f), 'utf8').trim() : '');
  const log = read('libvirtd.log').split('\n').filter((l) => /error|warn/i.test(l)).slice(-15).join('\n');
  return `libvirtd did not answer on qemu:///system in L1 (libvirtd -d exit ${facts.libvirtdExit ?? '?'}, virtlogd -d exit ${facts.virtlogdExit ?? '?'})\n`
    + `--- libvirtd stderr ---\n${read('libvirtd.stderr') || '(empty)'}\n--- virtlogd stderr ---\n${read('virtlogd.stderr') || '(empty)'}\n`
    + `--- libvirtd.log errors/warnings ---\n${log || '(none)'}`;
}
// libvirt is installed (checked above): a daemon that does not come up in L1 is a failure, not a skip.
const down = results ? daemonDown(results) : undefined;
if (down) throw new Error(down);

describeOrSkip(unavailable, 'KVM lab: GPU A attached to a libvirt domain through vfio-pci (LibvirtBackend)', () => {
  let r: JobResults;
  let initial: Snapshot;
  let hostDriver: (address: string) => string;

  beforeAll(() => {
    if (!results) throw new Error('no L1 run');
    r = results;
    initial = r.snap('initial');
    hostDriver = (address) => {
      const d = initial.driver.get(address);
      if (!d || d === 'none') throw new Error(`${address} had no host driver at boot`);
      return d;
    };
  });

  it('libvirtd runs in L1 (tmpfs /etc/libvirt, guests as root) and the guestless TCG domain lv-a starts', () => {
    expect(r.facts().etcLibvirtTmpfs).toBe('1');
    for (const name of ['define', 'start', 'state-started']) {
      const c = r.cmd(name);
      expect(c.rc, c.err).toBe(0);
    }
    expect(r.cmd('state-started').out.trim()).toBe('running (booted)');
  });

  it('baton claims GPU A with its movable peer: both functions and the NIC move from their host drivers to vfio-pci', () => {
    expect(r.facts().groupNic).toMatch(/^\d+$/);
    expect(r.facts().groupNic).not.toBe(r.facts().groupA);
    expect(r.facts().groupNicMembers?.trim()).toBe(roles.nic);
    expect(hostDriver(roles.nic)).toBe('e1000e');
    const claim = r.cmd('claim');
    expect(claim.rc, claim.err).toBe(0);
    const json = r.json<{ functions: Moved[] }>('claim');
    expect(json.functions.map((f) => [f.address, f.from, f.to])).toEqual(claimed.map((a) => [a, hostDriver(a), 'vfio-pci']));
    const s = r.snap('claimed');
    for (const a of claimed) expect(s.driver.get(a)).toBe('vfio-pci');
  });

  it('LibvirtBackend.attachGpu hot-plugs both functions, each at function 0 of its own root port', () => {
    const attach = r.cmd('attach');
    expect(attach.rc, `${attach.out}\n${attach.err}`).toBe(0);
    const json = r.json<BackendRun>('attach');
    expect(json.ok).toBe(true);
    expect(json.result?.deviceIds).toEqual(gpuAFunctions.map(aliasOf));
    expect(json.result?.verifiedBy).toBe('object-model');
  });

  it('the live domain XML holds both hostdevs with GPU A\'s source addresses, unmanaged, under the backend\'s aliases', () => {
    const xml = r.cmd('xml-attached');
    expect(xml.rc, xml.err).toBe(0);
    const hostdevs = pciHostdevs(xml.out);
    expect(hostdevs.map(({ host, alias, managed }) => ({ host, alias, managed }))).toEqual(gpuAFunctions.map((a) => ({ host: a, alias: aliasOf(a), managed: 'no' })));
    // Slot per function: each at slot 0 function 0 of a different root port (bus 1..4), function 0 on the one reported.
    expect(hostdevs.map((h) => h.guest && { slot: h.guest.slot, fn: h.guest.fn })).toEqual([{ slot: 0, fn: 0 }, { slot: 0, fn: 0 }]);
    const buses = hostdevs.map((h) => h.guest?.bus ?? -1);
    expect(new Set(buses).size).toBe(2);
    for (const b of buses) expect(b).toBeGreaterThanOrEqual(1);
    expect(`pci.${buses[0] ?? '?'}`).toBe(r.json<BackendRun>('attach').result?.guestSlot.bus);
  });

  it('QEMU realized both as vfio-pci devices with those host addresses, and holds the IOMMU group', () => {
    const list = r.cmd('qom-list');
    expect(list.rc, list.err).toBe(0);
    const children = (JSON.parse(list.out) as { return: { name: string; type: string }[] }).return;
    for (const a of gpuAFunctions) {
      expect(children).toContainEqual({ name: aliasOf(a), type: 'child<vfio-pci>' });
      const get = (prop: string) => (JSON.parse(r.cmd(`qom-${prop}-${a}`).out) as { return: unknown }).return;
      expect(get('type')).toBe('vfio-pci');
      expect(get('host')).toBe(a);
      expect(get('realized')).toBe(true);
    }
    const facts = r.facts();
    expect(facts.qemuPid).toMatch(/^\d+$/);
    expect(facts.holdersAttached?.trim().split(' ')).toContain(facts.qemuPid);
  });

  // The lab's backend pins no GPU slot, so this is libvirt's own choice of a free root port; the
  // freeSlot rule against a pinned slot is the unit tests' (test/unit/engine/outside-peers.test.ts).
  it('the peer goes to a free root port libvirt picks, beside the GPU\'s two, and QEMU holds its IOMMU group', () => {
    const attach = r.cmd('attach-peer');
    expect(attach.rc, `${attach.out}\n${attach.err}`).toBe(0);
    const json = r.json<BackendRun>('attach-peer');
    expect(json.result?.deviceIds).toEqual([aliasOf(roles.nic)]);
    const hostdevs = pciHostdevs(r.cmd('xml-peer').out);
    expect(hostdevs.map((h) => h.host)).toEqual(claimed);
    const buses = hostdevs.map((h) => h.guest?.bus ?? -1);
    expect(new Set(buses).size).toBe(3);
    expect(hostdevs[2]?.guest).toMatchObject({ slot: 0, fn: 0 });
    expect(hostdevs[2]!.guest!.bus).toBeGreaterThanOrEqual(1);
    expect(`pci.${hostdevs[2]!.guest!.bus}`).toBe(json.result?.guestSlot.bus);
    const children = (JSON.parse(r.cmd('qom-list-peer').out) as { return: { name: string; type: string }[] }).return;
    expect(children).toContainEqual({ name: aliasOf(roles.nic), type: 'child<vfio-pci>' });
    expect((JSON.parse(r.cmd('qom-host-peer').out) as { return: unknown }).return).toBe(roles.nic);
    expect(r.facts().holdersPeer?.trim().split(' ')).toContain(r.facts().qemuPid);
  });

  it('LibvirtBackend.inputs adds QEMU\'s input-linux object on an evdev node through the monitor passthrough, and removes it', () => {
    const node = r.facts().keyboardNode?.trim() ?? '';
    expect(node).toMatch(/^\/dev\/input\/event\d+$/);
    const add = r.cmd('input-add');
    expect(add.rc, `${add.out}\n${add.err}`).toBe(0);
    expect(r.json<BackendRun>('input-add').ok).toBe(true);
    const objects = (cmd: string) => (JSON.parse(r.cmd(cmd).out) as { return: { name: string; type: string }[] }).return;
    expect(objects('objects-with-input')).toContainEqual({ name: 'baton-input-kbd', type: 'child<input-linux>' });
    expect((JSON.parse(r.cmd('input-evdev').out) as { return: unknown }).return).toBe(node);
    for (const name of ['input-remove', 'input-remove-again']) {
      const c = r.cmd(name);
      expect(c.rc, `${name}: ${c.out}\n${c.err}`).toBe(0);
    }
    expect(objects('objects-after-input').map((o) => o.name)).not.toContain('baton-input-kbd');
  });

  it('detachGpu on the guestless domain fails with GuestDidNotReleaseError; the hostdevs stay in the live XML', () => {
    const detach = r.cmd('detach');
    expect(detach.rc).toBe(1);
    const json = r.json<BackendRun>('detach');
    expect(json.ok).toBe(false);
    expect(json.error).toMatchObject({ name: 'GuestDidNotReleaseError', kind: 'guest-did-not-release', deadlineMs: 5000 });
    // No guest answers the unplug request: both functions are still pending, and still in the live XML.
    expect([...(json.error?.pendingDevices ?? [])].sort()).toEqual(gpuAFunctions);
    expect(pciHostdevs(r.cmd('xml-after-detach').out).map((h) => h.host)).toEqual(claimed);
    expect(r.cmd('state-after-detach').out.trim()).toMatch(/^running/);
  });

  it('after virsh destroy, QEMU lets go of both groups; baton releases GPU A and the NIC to their host drivers (exit 0)', () => {
    const destroy = r.cmd('destroy');
    expect(destroy.rc, destroy.err).toBe(0);
    expect(r.facts().holdersAfterDestroy?.trim()).toBe('');
    expect(r.facts().peerHoldersAfterDestroy?.trim()).toBe('');
    const release = r.cmd('release');
    expect(release.rc, release.err).toBe(0);
    const json = r.json<{ functions: Moved[] }>('release');
    expect(json.functions.map((f) => [f.address, f.from, f.to])).toEqual(claimed.map((a) => [a, 'vfio-pci', hostDriver(a)]));
    const s = r.snap('final');
    for (const a of claimed) {
      expect(s.driver.get(a)).toBe(hostDriver(a));
      expect(s.override.get(a)).toBe('(null)');
    }
    expect(namesFor(s.connectors, roles.gpuA)).toHaveLength(1);
    expect(namesFor(s.soundCards, roles.gpuAAudio)).toHaveLength(1);
  });

  it('the daemons the job started are stopped', () => {
    expect(r.cmd('undefine').rc).toBe(0);
    expect(r.facts().daemonsStopped?.trim()).toBe('');
  });
});
