// One run of the Xen lab: Xen 4.17 + Debian dom0 under QEMU TCG with an emulated "GPU" (VGA + HDA
// behind a PCIe root port) and an emulated IOMMU; dom0 runs dom0-scenario.sh and leaves every
// step's raw output in a shared folder.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { XenArtifacts } from './artifacts.js';
import { BUSYBOX, writeDom0Initrd, writeGuestInitrd } from './initrds.js';
import { runQemu, type QemuResult } from './qemu-run.js';

export const LAB_OUT = resolve(import.meta.dirname, '../out/xen');
const DONE_MARKER = 'BATON-XEN done';

/** Why the lab cannot run on this machine, or undefined when it can. */
export function xenLabUnavailableReason(): string | undefined {
  const qemu = spawnSync('qemu-system-x86_64', ['--version'], { timeout: 10_000 });
  if (qemu.error || qemu.status !== 0) return 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)';
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (apt-get install busybox-static)`;
  const apt = spawnSync('apt-get', ['--version'], { timeout: 10_000 });
  if (apt.error || apt.status !== 0) return 'apt-get is not available to fetch the Xen and kernel packages';
  return undefined;
}

export interface StepResult { rc: number; startS: number; endS: number; stdout: string; stderr: string }

export interface XenLabRun {
  qemu: QemuResult;
  shareDir: string;
  steps: Map<string, StepResult>;
  /** Host milliseconds since QEMU started at which a console marker ("BATON-XEN <name>") first appeared. */
  markerAtMs(name: string): number | undefined;
  file(name: string): string;
}

function qemuArgs(hypervisor: string, vmlinuz: string, dom0Initrd: string, shareDir: string): string[] {
  return [
    '-accel', 'tcg', '-cpu', 'max,-smap,-smep,-pku', '-m', '3072', '-smp', '2',
    '-machine', 'q35,kernel-irqchip=split',
    '-device', 'intel-iommu,intremap=on,caching-mode=on',
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-kernel', hypervisor,
    '-append', 'console=com1 com1=115200 dom0_mem=1536M iommu=1',
    // Multiboot modules: dom0's kernel with its command line, then its initrd.
    '-initrd', `${vmlinuz} console=hvc0 earlyprintk=xen quiet,${dom0Initrd}`,
    '-virtfs', 'local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${shareDir},mount_tag=out,security_model=none,multidevs=remap`,
    // The "GPU": one slot, VGA at function 0 and its audio at function 1, behind a root port.
    '-device', 'pcie-root-port,id=gpu-port,bus=pcie.0,chassis=1,slot=1',
    '-device', 'VGA,bus=gpu-port,addr=00.0,multifunction=on',
    '-device', 'ich9-intel-hda,bus=gpu-port,addr=00.1',
  ];
}

function readSteps(shareDir: string): Map<string, StepResult> {
  const steps = new Map<string, StepResult>();
  const index = join(shareDir, 'steps.txt');
  if (!existsSync(index)) return steps;
  for (const line of readFileSync(index, 'utf8').split('\n').filter(Boolean)) {
    const [name, rc, startS, endS] = line.split(' ');
    if (!name) continue;
    const read = (ext: string): string => {
      const f = join(shareDir, `${name}.${ext}`);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    };
    steps.set(name, { rc: Number(rc), startS: Number(startS), endS: Number(endS), stdout: read('out'), stderr: read('err') });
  }
  return steps;
}

export async function runXenLab(art: XenArtifacts, opts: { deadlineMs: number; log?: (text: string) => void }): Promise<XenLabRun> {
  const runDir = join(LAB_OUT, new Date().toISOString().replace(/[:.]/g, '-'));
  const shareDir = join(runDir, 'share');
  mkdirSync(shareDir, { recursive: true });
  // Lives outside /tmp and /run: dom0 reads it through the host root share.
  const guestRamdisk = join(runDir, 'guest-initrd.gz');
  const dom0Initrd = join(runDir, 'dom0-initrd.gz');
  writeGuestInitrd(guestRamdisk, art.kernel.modules);
  writeDom0Initrd(dom0Initrd, art.kernel.modules, { xenRoot: art.xenRoot, guestKernel: art.kernel.vmlinuz, guestRamdisk });

  const qemu = await runQemu({
    args: qemuArgs(art.hypervisor, art.kernel.vmlinuz, dom0Initrd, shareDir),
    deadlineMs: opts.deadlineMs,
    doneMarker: DONE_MARKER,
    graceMs: 5_000,
    consoleLog: join(runDir, 'console.log'),
    onLine: (line) => { if (line.text.includes('BATON-')) opts.log?.(`[${(line.atMs / 1000).toFixed(1)}s] ${line.text.trim()}`); },
  });
  return {
    qemu,
    shareDir,
    steps: readSteps(shareDir),
    markerAtMs: (name) => qemu.lines.find((l) => l.text.includes(`BATON-XEN ${name}`))?.atMs,
    file: (name) => {
      const f = join(shareDir, name);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
  };
}
