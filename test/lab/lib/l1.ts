// Boots the lab kernel as "L1" under QEMU TCG with an emulated IOMMU, the host root as its
// read-only root over 9p, and a writable results share; runs one job (argv) inside and collects its
// exit status. buildL1Args is the reusable part (a Xen lab passes Xen as the kernel and
// "VMLINUZ args,INITRD" as the initrd).
import { LAB_CACHE } from './debs.js';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInitrd } from './initrd.js';
import { prepareLabKernel, type LabKernel } from './kernel.js';
import { LAB_OUT, REPO_ROOT } from './paths.js';
import { runQemu, type QemuResult } from './qemu.js';
import { deviceArgs, type Topology } from './topology.js';


export interface L1Machine {
  kernelImage: string;
  initrd: string;
  append: string;
  memoryMb?: number;
  smp?: number;
  cpu?: string;
  /** The -accel value; default "tcg" (e.g. "tcg,thread=single" for one host thread). */
  accel?: string;
  serialLog: string;
  /** Host folder mounted writable at /run/lab inside L1 (9p tag "results"). */
  shareDir: string;
  /** -device/-netdev/... arguments of the emulated hardware. */
  hardware: string[];
}

/** Two 9p shares on fixed root-bus slots, so topologies can place their devices freely. */
const SHARE_SLOTS = { host: '0x10', results: '0x11' };

export function buildL1Args(m: L1Machine): string[] {
  return [
    '-accel', m.accel ?? 'tcg', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-machine', 'q35,kernel-irqchip=split', '-device', 'intel-iommu,intremap=on,caching-mode=on',
    '-cpu', m.cpu ?? 'max', '-m', String(m.memoryMb ?? 2048), '-smp', String(m.smp ?? 1),
    '-kernel', m.kernelImage, '-initrd', m.initrd, '-append', m.append,
    '-serial', `file:${m.serialLog}`,
    '-fsdev', 'local,id=fs-host,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', `virtio-9p-pci,fsdev=fs-host,mount_tag=host,bus=pcie.0,addr=${SHARE_SLOTS.host}`,
    '-fsdev', `local,id=fs-results,path=${m.shareDir},security_model=none,multidevs=remap`,
    '-device', `virtio-9p-pci,fsdev=fs-results,mount_tag=results,bus=pcie.0,addr=${SHARE_SLOTS.results}`,
    ...m.hardware,
  ];
}

export interface L1Job {
  /** Names test/lab/out/<name>/ (serial log, QEMU log, results share). */
  name: string;
  topology: Topology;
  /** Command run chrooted into the host root, e.g. ['/bin/sh', '/work/main/test/lab/kvm/smoke-job.sh']. */
  argv: string[];
  env?: Record<string, string>;
  deadlineMs?: number;
  memoryMb?: number;
  smp?: number;
  /** QEMU arguments beyond the topology's (a device the test drives from outside, a QMP monitor). */
  extraArgs?: string[];
  /**
   * What QEMU boots, given the prepared kernel and the lab initrd. Default: the kernel itself.
   * A Xen lab returns Xen as kernelImage and "VMLINUZ args,INITRD" as initrd.
   */
  boot?: (kernel: LabKernel, initrd: string) => Pick<L1Machine, 'kernelImage' | 'initrd' | 'append'> & { cpu?: string };
}

// no_timer_check: under a loaded host, TCG can make the kernel's IO-APIC timer check fail ("timer doesn't
// work through Interrupt-remapped IO-APIC") and panic the boot.
export const DEFAULT_APPEND = 'console=ttyS0 quiet intel_iommu=on panic=-1 no_timer_check';

export interface L1Result {
  /** The job's exit status; undefined if it never finished (see serialLog). */
  status: number | undefined;
  qemu: QemuResult;
  outDir: string;
  shareDir: string;
  serialLog: string;
  jobLog: string;
}

const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Writes the job's argv (one argument per line) into the results share, with the host paths the
 * guest's init must keep visible although it covers their parents with tmpfs (the repository, the
 * lab cache).
 */
export function writeJobFiles(shareDir: string, argv: string[]): void {
  writeFileSync(join(shareDir, 'job.argv'), `${argv.join('\n')}\n`);
  writeFileSync(join(shareDir, 'keep.paths'), `${[REPO_ROOT, LAB_CACHE].join('\n')}\n`);
}

/** The results share runInL1 gives this job (created, empty, by the time runInL1 returns its promise). */
export const shareDirOf = (name: string): string => join(LAB_OUT, name, 'share');

export async function runInL1(job: L1Job): Promise<L1Result> {
  for (const a of job.argv) if (a.includes('\n')) throw new Error(`job argument with a newline: ${JSON.stringify(a)}`);
  const kernel = prepareLabKernel();
  const initrd = buildInitrd(kernel);
  const outDir = join(LAB_OUT, job.name);
  const shareDir = shareDirOf(job.name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(shareDir, { recursive: true });
  const env = { PATH: GUEST_PATH, HOME: '/tmp', TERM: 'dumb', LAB_SHARE: '/run/lab', LAB_REPO: REPO_ROOT, ...job.env };
  const argv = ['/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...job.argv];
  writeJobFiles(shareDir, argv);
  const serialLog = join(outDir, 'serial.log');
  const boot = job.boot?.(kernel, initrd) ?? { kernelImage: kernel.vmlinuz, initrd, append: DEFAULT_APPEND };
  const args = buildL1Args({
    ...boot,
    memoryMb: job.memoryMb,
    smp: job.smp,
    serialLog,
    shareDir,
    hardware: [...deviceArgs(job.topology), ...(job.extraArgs ?? [])],
  });
  writeFileSync(join(outDir, 'qemu.argv'), `${args.join('\n')}\n`);
  const qemu = await runQemu({ args, deadlineMs: job.deadlineMs ?? 300_000, qemuLog: join(outDir, 'qemu.log') });
  const statusFile = join(shareDir, 'status');
  const status = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : undefined;
  return { status, qemu, outDir, shareDir, serialLog, jobLog: join(shareDir, 'job.log') };
}

/** A short account of a run for assertion messages: how it ended and the tail of its logs. */
export function describeRun(r: L1Result): string {
  const tail = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-40).join('\n') : '(none)');
  const end = r.qemu.timedOut ? `killed at the deadline after ${r.qemu.durationMs} ms` : `QEMU exited ${r.qemu.exitCode ?? r.qemu.signal} after ${r.qemu.durationMs} ms`;
  return `L1 run ${r.outDir}: ${end}, job status ${r.status ?? 'missing'}\n--- job.log ---\n${tail(r.jobLog)}\n--- serial.log ---\n${tail(r.serialLog)}`;
}
