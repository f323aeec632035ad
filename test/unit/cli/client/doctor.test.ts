// `baton doctor` against a small sysfs-shaped folder, a config file and a real (fake-service) helper.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../../../app/cli/commands/doctor.js';
import { checkIommu, type DoctorPaths, type Finding } from '../../../../app/cli/client/doctor-checks.js';
import { cleanup, startTestDaemon, tempSocketDir } from '../../helper/daemon/harness.js';

afterEach(cleanup);

interface Device {
  address: string;
  group: number;
  cls: string;
  rom?: boolean;
}

function machine(devices: Device[], opts: { modules?: string[]; cmdline?: string } = {}): { sys: string; proc: string; dir: string } {
  const dir = tempSocketDir();
  const sys = join(dir, 'sys');
  const proc = join(dir, 'proc');
  mkdirSync(proc, { recursive: true });
  writeFileSync(join(proc, 'cmdline'), opts.cmdline ?? 'BOOT_IMAGE=/vmlinuz ro quiet\n');
  for (const m of opts.modules ?? []) mkdirSync(join(sys, 'module', m), { recursive: true });
  for (const d of devices) {
    const dev = join(sys, 'bus/pci/devices', d.address);
    const group = join(sys, 'kernel/iommu_groups', String(d.group), 'devices');
    mkdirSync(dev, { recursive: true });
    mkdirSync(group, { recursive: true });
    writeFileSync(join(dev, 'class'), `${d.cls}\n`);
    if (d.rom) writeFileSync(join(dev, 'rom'), '');
    symlinkSync(join(sys, 'kernel/iommu_groups', String(d.group)), join(dev, 'iommu_group'));
    symlinkSync(dev, join(group, d.address));
  }
  return { sys, proc, dir };
}

/** A config with its state in `dir`; the group is root's, which every system has. */
function config(dir: string, extra = '', helper = 'group: root'): string {
  const file = join(dir, 'baton.yaml');
  const state = `journal: ${join(dir, 'state', 'journal.json')}, history: { file: ${join(dir, 'state', 'history.jsonl')} }`;
  writeFileSync(file, `helper: { ${helper}, ${state} }\ngpus:\n  - name: gpu0\n    match: { address: "01:00.0" }\n    movablePeers: ["0000:01:00.1"]\n${extra}`);
  return file;
}

async function doctor(paths: DoctorPaths): Promise<{ code: number; findings: Finding[]; text: string }> {
  let json = '';
  const code = await runDoctor(paths, true, { out: (t) => void (json += t), err: () => {} });
  let text = '';
  await runDoctor(paths, false, { out: (t) => void (text += t), err: () => {} });
  return { code, findings: (JSON.parse(json) as { findings: Finding[] }).findings, text };
}

const GPU: Device[] = [
  { address: '0000:01:00.0', group: 1, cls: '0x030000', rom: true },
  { address: '0000:01:00.1', group: 1, cls: '0x040300' },
  { address: '0000:00:01.0', group: 1, cls: '0x060400' },
];

describe('baton doctor', () => {
  it('exits 0 on a ready machine with a reachable helper', async () => {
    const m = machine(GPU, { modules: ['vfio', 'vfio_pci', 'vfio_iommu_type1'], cmdline: 'ro intel_iommu=on iommu=pt' });
    const { socketPath } = await startTestDaemon();
    const { code, findings, text } = await doctor({ sysRoot: m.sys, procRoot: m.proc, configPath: config(m.dir), socketPath });
    expect(findings.filter((f) => f.level !== 'ok')).toEqual([]);
    expect(code).toBe(0);
    expect(text).toContain('ok     IOMMU on: 1 groups (kernel command line: intel_iommu=on iommu=pt)');
    expect(text).toContain('gpu0 (0000:01:00.0): IOMMU group 1 holds only the GPU');
    expect(text).toMatch(/helper answers at .* \(version unknown, protocol 2\)/);
  });

  it('shows what the helper could not recover and why it reports a GPU absent', async () => {
    const m = machine(GPU, { modules: ['vfio', 'vfio_pci', 'vfio_iommu_type1'], cmdline: 'ro intel_iommu=on iommu=pt' });
    const { socketPath, service } = await startTestDaemon();
    const status = service.status.bind(service);
    service.status = async () => {
      const s = await status();
      const gpu = s.gpus[0]!;
      return {
        ...s,
        gpus: [{ ...gpu, owner: 'absent', address: null, functions: [], reason: 'match.serial 00-11-22-33-44-55-66-77 cannot be checked on 0000:01:00.0: only root can read it' }],
        recoveryProblems: ['switch sw-1 of gpu0 was interrupted; moved the journal aside'],
      };
    };
    const { code, findings } = await doctor({ sysRoot: m.sys, procRoot: m.proc, configPath: config(m.dir), socketPath });
    expect(findings).toContainEqual({ level: 'warning', what: 'the helper could not recover: switch sw-1 of gpu0 was interrupted; moved the journal aside', fix: 'baton status; baton history' });
    expect(findings).toContainEqual(expect.objectContaining({ level: 'warning', what: 'the helper reports gpu0 absent: match.serial 00-11-22-33-44-55-66-77 cannot be checked on 0000:01:00.0: only root can read it' }));
    expect(code).toBe(0); // warnings only
  });

  it('exits 1 with a fix for each problem: no IOMMU, no vfio, shared group, no ROM, no helper', async () => {
    const m = machine([...GPU.map((d) => ({ ...d, rom: false })), { address: '0000:00:14.0', group: 1, cls: '0x0c0330' }]);
    const { code, findings, text } = await doctor({ sysRoot: m.sys, procRoot: m.proc, configPath: config(m.dir), socketPath: join(m.dir, 'none.sock') });
    expect(code).toBe(1);
    const byLevel = (level: string) => findings.filter((f) => f.level === level).map((f) => f.what);
    expect(byLevel('warning')).toEqual([
      'vfio-pci not loaded',
      'vfio not loaded',
      'vfio_iommu_type1 not loaded',
      'gpu0 (0000:01:00.0): IOMMU group 1 also holds 0000:00:14.0',
      'gpu0: the card exposes no ROM',
    ]);
    expect(byLevel('error')).toEqual([expect.stringMatching(/^cannot reach the helper at .*none\.sock/)]);
    expect(findings.every((f) => f.level === 'ok' || f.fix)).toBe(true);
    expect(text).toMatch(/^warn {3}vfio-pci not loaded\n {7}→ modprobe vfio-pci/m);
  });

  it('reports an IOMMU that is off, and whether the kernel was asked for it', () => {
    const m = machine([]);
    expect(checkIommu({ sysRoot: m.sys, procRoot: m.proc, configPath: '', socketPath: '' })).toMatchObject({ level: 'error', fix: expect.stringContaining('intel_iommu=on') });
    const asked = machine([], { cmdline: 'amd_iommu=on' });
    expect(checkIommu({ sysRoot: asked.sys, procRoot: asked.proc, configPath: '', socketPath: '' })).toMatchObject({ what: expect.stringContaining('although the kernel command line asks'), fix: expect.stringContaining('firmware') });
  });

  it('reports config errors, a missing GPU and a missing VBIOS file', async () => {
    const m = machine(GPU, { modules: ['vfio', 'vfio_pci', 'vfio_iommu_type1'] });
    const file = config(m.dir, '    vbios: { file: /nonexistent/gpu0.rom }\n');
    const { findings } = await doctor({ sysRoot: m.sys, procRoot: m.proc, configPath: file, socketPath: join(m.dir, 'x') });
    expect(findings).toContainEqual({ level: 'error', what: 'gpu0: VBIOS file /nonexistent/gpu0.rom missing', fix: expect.any(String) });
    const empty = machine([]);
    const gone = await doctor({ sysRoot: empty.sys, procRoot: empty.proc, configPath: config(empty.dir), socketPath: join(m.dir, 'x') });
    expect(gone.findings.map((f) => f.what)).toContain('gpu0: not found on this machine (no PCI device with address 0000:01:00.0); the helper reports it absent');
    writeFileSync(file, 'gpus: 3\n');
    const broken = await doctor({ sysRoot: m.sys, procRoot: m.proc, configPath: file, socketPath: join(m.dir, 'x') });
    expect(broken.findings.some((f) => f.level === 'error' && f.what.startsWith(`${file}:1:`))).toBe(true);
  });

  it('reports helper.group and helper.users naming no account, and journals a recovery set aside', async () => {
    const m = machine(GPU, { modules: ['vfio', 'vfio_pci', 'vfio_iommu_type1'] });
    const file = config(m.dir, '', 'group: nosuchbatongroup, users: [nosuchbatonuser, 4321]');
    mkdirSync(join(m.dir, 'state', 'journal', 'aside'), { recursive: true });
    writeFileSync(join(m.dir, 'state', 'journal', 'aside', 'gpu0.json.1'), '{}');
    const { code, findings } = await doctor({ sysRoot: m.sys, procRoot: m.proc, configPath: file, socketPath: join(m.dir, 'x') });
    expect(code).toBe(1);
    const whats = findings.map((f) => `${f.level} ${f.what}`);
    expect(whats).toContain('error helper.group: no group named "nosuchbatongroup" on this system (/etc/group); the helper refuses to start (create it: groupadd nosuchbatongroup)');
    expect(whats).toContain('error helper.users[0]: no user named "nosuchbatonuser" on this system (/etc/passwd); the helper refuses to start');
    // A uid is taken as it is: accounts without a passwd entry may still connect.
    expect(whats.filter((w) => w.includes('4321'))).toEqual([]);
    expect(whats).toContain(`warning a recovery set aside the journal ${join(m.dir, 'state', 'journal', 'aside', 'gpu0.json.1')}: a switch it could neither finish nor undo`);
  });
});
