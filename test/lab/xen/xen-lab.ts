// One run of the Xen lab: Xen 4.17 under QEMU TCG with the KVM lab's machine (q35, emulated IOMMU,
// host root over 9p, results share) and initrd, the Debian kernel as dom0, an emulated "GPU"
// (VGA + HDA behind a PCIe root port). dom0 runs dom0-scenario.sh as the lab job; every step's raw
// output lands in the results share.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInitrd } from '../lib/initrd.js';
import { prepareLabKernel, type LabKernel } from '../lib/kernel.js';
import { buildL1Args, writeJobFiles } from '../lib/l1.js';
import { LAB_OUT } from '../lib/paths.js';
import { qemuAvailable, runQemu, type QemuResult } from '../lib/qemu.js';
import { fetchXenArtifacts, type XenArtifacts } from './artifacts.js';
import { writeGuestInitrd } from './guest-initrd.js';

const SCENARIO = join(import.meta.dirname, 'dom0-scenario.sh');
/**
 * Without -smap,-smep dom0 faults at its first instruction under TCG (lab notes). Without -xsave
 * (and with dom0_max_vcpus=1 below) node crashed in dom0 once the PV guests ran: see "node in dom0"
 * in README.md.
 */
const XEN_CPU = 'max,-smap,-smep,-pku,-xsave';
const XEN_CMDLINE = 'console=com1 com1=115200 dom0_mem=1536M iommu=1 dom0_max_vcpus=1';
const DOM0_CMDLINE = 'console=hvc0 earlyprintk=xen quiet';
const XEN_SMP = 2;
const XEN_ACCEL = 'tcg';

/** The "GPU": one slot, VGA at function 0 and its audio at function 1, behind a root port. */
const GPU_HARDWARE = [
  '-audiodev', 'none,id=xen-lab-audio',
  '-device', 'pcie-root-port,id=rp-gpu,bus=pcie.0,addr=0x2,chassis=2,slot=2',
  '-device', 'VGA,bus=rp-gpu,addr=0x0.0x0,multifunction=on',
  '-device', 'ich9-intel-hda,id=gpu-hda,bus=rp-gpu,addr=0x0.0x1',
  '-device', 'hda-output,bus=gpu-hda.0,audiodev=xen-lab-audio',
];

/** Why the lab cannot run here (before any download), or undefined. */
export function xenLabUnavailableReason(): string | undefined {
  if (process.env.BATON_LAB_SKIP) return 'BATON_LAB_SKIP is set';
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the Xen lab needs x86-64 Linux, not ${process.platform}/${process.arch}`;
  const noQemu = qemuAvailable();
  if (noQemu) return noQemu;
  if (!existsSync('/bin/busybox')) return '/bin/busybox missing (Debian package busybox-static; run test/lab/setup.sh)';
  if (!existsSync('/usr/sbin/modprobe')) return 'modprobe missing (Debian package kmod; run test/lab/setup.sh)';
  const apt = spawnSync('apt-get', ['--version'], { timeout: 10_000 });
  if (apt.error || apt.status !== 0) return 'apt-get is not available to fetch the Xen packages';
  return undefined;
}

export interface StepResult { rc: number; startS: number; endS: number; stdout: string; stderr: string }

export interface XenLabRun {
  qemu: QemuResult;
  /** The scenario's exit status; undefined if it never finished. */
  status: number | undefined;
  outDir: string;
  shareDir: string;
  steps: Map<string, StepResult>;
  /** dom0 uptime (seconds) at which the scenario printed "BATON-XEN <name>". */
  markAt(name: string): number | undefined;
  file(name: string): string;
}

function readSteps(shareDir: string): Map<string, StepResult> {
  const steps = new Map<string, StepResult>();
  const index = join(shareDir, 'steps.txt');
  if (!existsSync(index)) return steps;
  const read = (f: string): string => (existsSync(join(shareDir, f)) ? readFileSync(join(shareDir, f), 'utf8') : '');
  for (const line of readFileSync(index, 'utf8').split('\n').filter(Boolean)) {
    const [name = '', rc, startS, endS] = line.split(' ');
    steps.set(name, { rc: Number(rc), startS: Number(startS), endS: Number(endS), stdout: read(`${name}.out`), stderr: read(`${name}.err`) });
  }
  return steps;
}

export interface XenLabInputs { xen: XenArtifacts; kernel: LabKernel; initrd: string }

/** Downloads and prepares everything the run boots (cached); throws with a reason. */
export function prepareXenLab(): XenLabInputs {
  const kernel = prepareLabKernel();
  return { xen: fetchXenArtifacts(), kernel, initrd: buildInitrd(kernel) };
}

/** Another dom0 job than the smoke scenario: its script, its output folder under test/lab/out, extra env. */
export interface XenLabJob { scenario: string; outName: string; env?: Record<string, string> }

/**
 * The machine every Xen suite boots. The environment can change one part for an experiment (see
 * "node in dom0" in README.md): BATON_XEN_CPU, BATON_XEN_SMP, BATON_XEN_ACCEL, BATON_XEN_ARGS
 * (appended to Xen's command line), BATON_XEN_DOM0_ARGS (appended to dom0's).
 */
export interface XenMachine { cpu: string; smp: number; accel: string; xenCmdline: string; dom0Cmdline: string }

export function xenMachine(env: NodeJS.ProcessEnv = process.env): XenMachine {
  const extra = (base: string, more: string | undefined): string => (more?.trim() ? `${base} ${more.trim()}` : base);
  return {
    cpu: env.BATON_XEN_CPU || XEN_CPU,
    smp: env.BATON_XEN_SMP ? Number(env.BATON_XEN_SMP) : XEN_SMP,
    accel: env.BATON_XEN_ACCEL || XEN_ACCEL,
    xenCmdline: extra(XEN_CMDLINE, env.BATON_XEN_ARGS),
    dom0Cmdline: extra(DOM0_CMDLINE, env.BATON_XEN_DOM0_ARGS),
  };
}

export async function runXenLab({ xen, kernel, initrd }: XenLabInputs, deadlineMs: number, job?: XenLabJob): Promise<XenLabRun> {
  const outDir = join(LAB_OUT, job?.outName ?? 'xen');
  const shareDir = join(outDir, 'share');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(shareDir, { recursive: true });
  // Outside /tmp and /run (tmpfs in dom0): dom0 reads it through the host root.
  const guestRamdisk = join(outDir, 'guest-initrd.gz');
  writeGuestInitrd(guestRamdisk, kernel);

  const env = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp', OUT: '/run/lab',
    XEN_ROOT: xen.xenRoot, GUEST_KERNEL: kernel.vmlinuz, GUEST_RAMDISK: guestRamdisk, ...job?.env,
  };
  const argv = ['/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', job?.scenario ?? SCENARIO];
  writeJobFiles(shareDir, argv);
  const machine = xenMachine();
  writeFileSync(join(outDir, 'machine.json'), `${JSON.stringify(machine, null, 2)}\n`);
  const args = buildL1Args({
    kernelImage: xen.hypervisor,
    // Multiboot modules: dom0's kernel with its command line, then the lab initrd.
    initrd: `${kernel.vmlinuz} ${machine.dom0Cmdline},${initrd}`,
    append: machine.xenCmdline,
    memoryMb: 3072,
    smp: machine.smp,
    cpu: machine.cpu,
    accel: machine.accel,
    serialLog: join(outDir, 'serial.log'),
    shareDir,
    // BATON_XEN_QEMU_DEBUG=1 logs CPU resets to qemu.log: why QEMU stopped when nothing printed.
    hardware: [...GPU_HARDWARE, ...(process.env.BATON_XEN_QEMU_DEBUG === '1' ? ['-d', 'cpu_reset,guest_errors'] : [])],
  });
  writeFileSync(join(outDir, 'qemu.argv'), `${args.join('\n')}\n`);
  const qemu = await runQemu({ args, deadlineMs, qemuLog: join(outDir, 'qemu.log') });

  const file = (name: string): string => (existsSync(join(shareDir, name)) ? readFileSync(join(shareDir, name), 'utf8') : '');
  const statusText = file('status').trim();
  const jobLog = file('job.log');
  return {
    qemu,
    status: statusText ? Number(statusText) : undefined,
    outDir,
    shareDir,
    steps: readSteps(shareDir),
    markAt: (name) => {
      const m = new RegExp(`^BATON-XEN ${name}\\b.* uptime=([0-9.]+)`, 'm').exec(jobLog);
      return m?.[1] ? Number(m[1]) : undefined;
    },
    file,
  };
}
