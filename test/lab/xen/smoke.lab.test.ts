// The Xen lab, for real: Xen 4.17 boots under QEMU TCG, dom0 starts two PV guests and drives xl
// through PCI passthrough of an emulated GPU. One boot serves every test in this file.
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { saveFixtures } from './fixtures.js';
import { prepareXenLab, runXenLab, xenLabUnavailableReason, type XenLabInputs, type XenLabRun } from './xen-lab.js';

const VGA_ID = '0x1234:0x1111';
const HDA_ID = '0x8086:0x293e';

interface XlListRow { name: string; id: number; state: string }

function parseXlList(text: string): XlListRow[] {
  return text.split('\n').slice(1).filter((l) => l.trim()).map((line) => {
    const [name = '', id = '', , , state = ''] = line.trim().split(/\s+/);
    return { name, id: Number(id), state };
  });
}

let run: XenLabRun | undefined;
let skipReason: string | undefined;

function labOrSkip(ctx: TestContext): XenLabRun {
  if (skipReason) ctx.skip(`Xen lab: ${skipReason}`);
  // Not a skip: the machine could run the lab, so a missing run is a broken lab.
  if (!run) throw new Error('the Xen lab did not run (see the beforeAll output above)');
  return run;
}

function qemuEnding(lab: XenLabRun): string {
  if (lab.qemu.timedOut) return 'killed at the deadline';
  return lab.qemu.signal ? `ended by signal ${lab.qemu.signal}` : `exited with code ${lab.qemu.exitCode}`;
}

function stepOk(lab: XenLabRun, name: string): string {
  const step = lab.steps.get(name);
  expect(step, `step ${name} ran`).toBeDefined();
  expect(step?.rc, `${name} exit code; stderr: ${step?.stderr}`).toBe(0);
  return step?.stdout ?? '';
}

describe('Xen lab', () => {
  beforeAll(async () => {
    skipReason = xenLabUnavailableReason();
    if (skipReason) return;
    let inputs: XenLabInputs;
    try {
      inputs = prepareXenLab();
    } catch (err) {
      skipReason = `cannot fetch or prepare the Xen or kernel packages: ${(err as Error).message.split('\n')[0]}`;
      return;
    }
    run = await runXenLab(inputs, 780_000);
    const up = (name: string): string => {
      const at = run?.markAt(name);
      return at === undefined ? 'never' : `${at.toFixed(1)} s`;
    };
    console.log([
      `Xen lab timings (dom0 uptime; Xen itself boots in the few seconds before), folder ${run.outDir}:`,
      `  Xen daemons up ${up('daemons-up')}`,
      `  guests created ${up('guests-created')}`,
      `  guests up      ${up('guests-up')}`,
      `  scenario end   ${up('scenario-end')}`,
      `  QEMU wall time ${(run.qemu.durationMs / 1000).toFixed(1)} s, ${qemuEnding(run)}`,
    ].join('\n'));
    if (process.env.BATON_XEN_SAVE_FIXTURES === '1') console.log(`saved fixtures: ${saveFixtures(run.shareDir).join(', ')}`);
  });

  it('boots Xen with dom0 and runs the scenario to its end', (ctx) => {
    const lab = labOrSkip(ctx);
    expect(lab.qemu.timedOut, `QEMU was killed at the deadline; see ${lab.outDir}/serial.log`).toBe(false);
    expect(lab.status, `scenario exit status (QEMU ${qemuEnding(lab)}); see ${lab.outDir}/serial.log`).toBe(0);
    expect(lab.markAt('scenario-end')).toBeDefined();
    for (const daemon of ['xenstored', 'xen-init-dom0', 'xenconsoled', 'xl-info']) stepOk(lab, daemon);
    expect(lab.steps.get('xl-info')?.stdout).toMatch(/^xen_version\s+: 4\.17/m);
  });

  it('lists Domain-0, vm-a and vm-b running', (ctx) => {
    const lab = labOrSkip(ctx);
    stepOk(lab, 'create-vm-a');
    stepOk(lab, 'create-vm-b');
    const rows = parseXlList(stepOk(lab, 'xl-list'));
    expect(rows.map((r) => r.name)).toEqual(['Domain-0', 'vm-a', 'vm-b']);
    // Running or blocked (idle), never paused, shut down, crashed or dying.
    for (const row of rows) expect(row.state, row.name).toMatch(/^[r-][b-]-{4}$/);
    for (const vm of ['vm-a', 'vm-b']) expect(lab.file(`guest-${vm}.log`), vm).toContain('BATON-GUEST ready');
  });

  it('makes both functions of the emulated GPU assignable', (ctx) => {
    const lab = labOrSkip(ctx);
    const gpu = /vga=(\S+) hda=(\S+)/.exec(lab.file('gpu.txt'));
    expect(gpu, 'dom0 found the VGA 1234:1111').not.toBeNull();
    const [, vga = '', hda = ''] = gpu ?? [];
    stepOk(lab, 'assignable-add-vga');
    stepOk(lab, 'assignable-add-hda');
    const listed = stepOk(lab, 'xl-pci-assignable-list').split('\n').map((l) => l.trim()).filter(Boolean);
    expect(listed).toEqual([vga, hda]);
  });

  it('attaches the VGA to vm-a, stalls detaching from a paused vm-a, then moves the GPU to vm-b', (ctx) => {
    const lab = labOrSkip(ctx);
    const vga = /vga=(\S+)/.exec(lab.file('gpu.txt'))?.[1] ?? '';
    const vmA = parseXlList(lab.steps.get('xl-list')?.stdout ?? '').find((r) => r.name === 'vm-a');
    stepOk(lab, 'attach-vm-a');
    const backend = `/local/domain/0/backend/pci/${vmA?.id}/0`;
    const attached = stepOk(lab, 'xenstore-backend-attached');
    expect(attached).toContain(`${backend}/state = "4"`);
    expect(attached).toContain(`${backend}/dev-0 = "${vga}"`);
    expect(attached).toContain(`${backend}/state-0 = "3"`);
    expect(stepOk(lab, 'xl-pci-list-vm-a')).toMatch(new RegExp(`^Vdev Device\\n00\\.0 ${vga}$`, 'm'));
    expect(lab.file('guest-vm-a.log'), 'vm-a saw the GPU through pcifront').toContain(VGA_ID);

    stepOk(lab, 'detach-vm-a');
    expect(stepOk(lab, 'xl-pci-list-vm-a-after-detach')).not.toContain(vga);

    stepOk(lab, 'attach-vm-a-again');
    stepOk(lab, 'pause-vm-a');
    // xl's flags: p is paused; b (blocked) may be set too, depending on what the guest was doing.
    expect(parseXlList(stepOk(lab, 'xl-list-paused')).find((r) => r.name === 'vm-a')?.state).toMatch(/^-[b-]p---$/);
    const stalled = lab.steps.get('detach-paused-vm-a');
    expect(stalled?.stderr).toMatch(/Backend \S+ not ready/);
    // xl reports success although nothing was detached: a backend must check pci-list afterwards.
    expect(stalled?.rc).toBe(0);
    expect((stalled?.endS ?? 0) - (stalled?.startS ?? 0), 'the detach waited for the paused guest').toBeGreaterThan(5);
    expect(stepOk(lab, 'xl-pci-list-vm-a-paused'), 'the device stays listed').toContain(vga);

    stepOk(lab, 'attach-vm-b');
    stepOk(lab, 'attach-hda-vm-b');
    const hda = /hda=(\S+)/.exec(lab.file('gpu.txt'))?.[1] ?? '';
    // PV passthrough shows every function with Vdev 00.0: the Device column is the only key.
    expect(stepOk(lab, 'xl-pci-list-vm-b').split('\n').filter(Boolean)).toEqual(['Vdev Device', `00.0 ${vga}`, `00.0 ${hda}`]);
    expect(lab.file('guest-vm-b.log'), 'vm-b saw the GPU through pcifront').toContain(VGA_ID);
    expect(lab.file('guest-vm-b.log'), 'vm-b saw the GPU audio through pcifront').toContain(HDA_ID);
  });
});
