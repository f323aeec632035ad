// A tiny Linux kernel and a busybox initrd for nested guests ("L2" VMs inside the KVM lab): boots in
// about a minute under nested TCG (the Debian kernel needs minutes) and answers ACPI hot-unplug
// requests, so QMP device_del gets its DEVICE_DELETED. Built from Debian's linux-source-6.1 with
// tinyconfig plus the options below, once, and cached in .cache/lab/tiny-kernel (facts:
// /work/shared/lab/README.md, "A guest that answers unplug requests").
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { gzippedCpio } from './cpio.js';
import { LAB_CACHE, unpackDebs } from './debs.js';

export const TINY_KERNEL_OPTIONS = [
  '64BIT', 'PCI', 'PCIEPORTBUS', 'HOTPLUG_PCI', 'HOTPLUG_PCI_PCIE', 'HOTPLUG_PCI_ACPI', 'HOTPLUG_PCI_SHPC', 'ACPI', 'PCI_MSI',
  'PCI_QUIRKS', 'TTY', 'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'PRINTK', 'EARLY_PRINTK', 'BLK_DEV_INITRD', 'RD_GZIP',
  'DEVTMPFS', 'DEVTMPFS_MOUNT', 'PROC_FS', 'SYSFS', 'BINFMT_ELF', 'BINFMT_SCRIPT', 'MULTIUSER', 'FUTEX', 'EPOLL', 'SHMEM',
  'TMPFS', 'SMP', 'X86_LOCAL_APIC', 'X86_IO_APIC',
  // The input lab (test/lab/kvm/input-relay): the PS/2 keyboard QEMU feeds input-linux events to, read through evdev.
  'INPUT', 'INPUT_EVDEV', 'INPUT_KEYBOARD', 'KEYBOARD_ATKBD', 'SERIO', 'SERIO_I8042',
];

/** The Debian package with the kernel source tarball, and the host tools the build needs. */
const SOURCE_PACKAGE = 'linux-source-6.1';
const BUILD_PACKAGES = ['flex', 'bison', 'bc', 'libelf-dev', 'libssl-dev', 'gcc', 'make', 'xz-utils'];

export const TINY_DIR = join(LAB_CACHE, 'tiny-kernel');
const BZIMAGE = join(TINY_DIR, 'bzImage');
const BZIMAGE_STAMP = `${BZIMAGE}.stamp`;
const INITRD = join(TINY_DIR, 'initrd.cpio.gz');
const INITRD_STAMP = `${INITRD}.stamp`;

/**
 * /init of the L2 guest: mounts the kernel file systems, says it is up, then reports the PCI
 * functions it sees whenever they change (so its serial log shows hot-plug and unplug from the
 * guest's side) and the key events its evdev nodes deliver. Never exits (init must not).
 */
export const TINY_INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /proc /sys /dev
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "l2-ready $(cat /proc/uptime)"
# Every evdev node, once it appears: its name, then each key event read from it (code, value), so
# the serial log shows what reached the guest's own input devices (test/lab/kvm/input-relay).
report_keys() {
  exec 3<"/dev/input/$1"
  while true; do
    dd bs=2400 count=1 <&3 2>/dev/null | od -An -v -tu2 -w24 | while read s0 s1 s2 s3 u0 u1 u2 u3 type code v0 v1; do
      [ "$type" = 1 ] && echo "l2-key $1 $code $v0"
    done
  done
}
(
  seen=" "
  while true; do
    for p in /sys/class/input/event*; do
      e="\${p##*/}"
      [ -e "$p" ] || continue
      case "$seen" in *" $e "*) continue;; esac
      seen="$seen$e "
      echo "l2-input $e $(cat "$p/device/name")"
      report_keys "$e" &
    done
    sleep 1
  done
) &
last=""
while true; do
  now="$(cd /sys/bus/pci/devices && for d in *; do echo "$d=$(cat $d/vendor):$(cat $d/device)"; done | tr '\\n' ' ')"
  if [ "$now" != "$last" ]; then echo "l2-pci $(cut -d' ' -f1 /proc/uptime) $now"; last="$now"; fi
  sleep 1
done
`;

export interface TinyKernel {
  bzImage: string;
  initrd: string;
}

const stampOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex');
const kernelStamp = (): string => stampOf(SOURCE_PACKAGE, ...TINY_KERNEL_OPTIONS);

function installed(pkg: string): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('install ok installed');
  } catch {
    return false;
  }
}

/** undefined when the cached kernel is there or can be built here; otherwise why not. */
export function tinyKernelUnavailable(): string | undefined {
  if (cachedTinyKernel()) return undefined;
  if (!existsSync('/bin/busybox')) return 'static busybox not found at /bin/busybox (Debian package busybox-static)';
  const missing = BUILD_PACKAGES.filter((p) => !installed(p));
  if (missing.length && process.getuid?.() !== 0) return `the tiny kernel's build needs ${missing.join(' ')} (apt-get install them, or run as root)`;
  return undefined;
}

/** The cached kernel and initrd, if both are built from the current recipe. */
export function cachedTinyKernel(): TinyKernel | undefined {
  const fresh = (file: string, stamp: string, want: string) => existsSync(file) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want;
  if (!fresh(BZIMAGE, BZIMAGE_STAMP, kernelStamp())) return undefined;
  return { bzImage: BZIMAGE, initrd: buildTinyInitrd() };
}

function buildTinyInitrd(): string {
  const busybox = readFileSync('/bin/busybox');
  const want = stampOf(TINY_INIT, createHash('sha256').update(busybox).digest('hex'));
  if (existsSync(INITRD) && existsSync(INITRD_STAMP) && readFileSync(INITRD_STAMP, 'utf8') === want) return INITRD;
  mkdirSync(TINY_DIR, { recursive: true });
  writeFileSync(`${INITRD}.tmp`, gzippedCpio([
    { kind: 'dir', path: 'bin' }, { kind: 'dir', path: 'dev' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { kind: 'file', path: 'init', data: Buffer.from(TINY_INIT), mode: 0o755 },
  ]));
  renameSync(`${INITRD}.tmp`, INITRD);
  writeFileSync(INITRD_STAMP, want);
  return INITRD;
}

/**
 * The process groups of the steps running now. Each step runs in its own group (detached, so its
 * deadline can kill make's compilers too); a build told to stop (SIGTERM from `npm test` ending
 * early, Ctrl-C) kills them, or a `make` would go on writing in the tree the next build resumes in.
 */
const runningGroups = new Set<number>();
let stopHandlersInstalled = false;
function killStepsOnStop(): void {
  if (stopHandlersInstalled) return;
  stopHandlersInstalled = true;
  const stop = (signal: NodeJS.Signals) => {
    for (const pid of runningGroups) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    // The lock names this process: a later build takes it over once this process is gone.
    process.kill(process.pid, signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal));
}

/** Runs a command with a deadline; its output goes to the build log. Rejects on failure. */
function step(log: (line: string) => void, logFile: string, cmd: string, args: string[], cwd: string, deadlineMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    killStepsOnStop();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) runningGroups.add(child.pid);
    const chunks: Buffer[] = [];
    const keep = (b: Buffer) => { chunks.push(b); if (chunks.length > 400) chunks.splice(0, 200); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      // The whole process group: make's compilers too.
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, deadlineMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) runningGroups.delete(child.pid);
      const output = Buffer.concat(chunks).toString('utf8');
      writeFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n${output}\n`, { flag: 'a' });
      log(`${cmd} ${args.slice(0, 3).join(' ')}: ${code ?? signal} in ${Math.round((Date.now() - t0) / 1000)} s`);
      if (code === 0) resolvePromise();
      else reject(new Error(`${cmd} ${args.join(' ')} ${signal ? `killed (${signal})` : `exited ${code}`} after ${Date.now() - t0} ms; tail:\n${output.split('\n').slice(-25).join('\n')}`));
    });
  });
}

/**
 * The tiny kernel and its initrd: from the cache, or built now (several minutes: untar ~1 min,
 * make ~4.5 min on 2 idle cores). Installs missing build packages when running as root.
 * The source tree is removed after a successful build; the bzImage stays.
 */
export async function buildTinyKernel(opts: { log?: (line: string) => void; deadlineMs?: number } = {}): Promise<TinyKernel> {
  const cached = cachedTinyKernel();
  if (cached) return cached;
  const log = opts.log ?? ((line: string) => process.stderr.write(`[tiny-kernel] ${line}\n`));
  // One build at a time: `npm test` starts one in the background (scripts/test.mjs) while the
  // suites that do not need it run; a suite that needs it waits for that build instead of racing it.
  await takeBuildLock(log, Date.now() + (opts.deadlineMs ?? 1_500_000));
  try {
    return cachedTinyKernel() ?? await buildLocked(log, opts);
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

const BUILD_LOCK = join(TINY_DIR, 'build.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** mkdir is atomic: the folder is the lock, its `pid` file names the holder (a dead holder's lock is taken over). */
async function takeBuildLock(log: (line: string) => void, deadline: number): Promise<void> {
  mkdirSync(TINY_DIR, { recursive: true });
  let said = false;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(existsSync(join(BUILD_LOCK, 'pid')) ? readFileSync(join(BUILD_LOCK, 'pid'), 'utf8') : NaN);
    if (Number.isInteger(holder) && !alive(holder)) {
      rmSync(BUILD_LOCK, { recursive: true, force: true });
      continue;
    }
    if (!said) { log(`waiting for the build running in process ${Number.isInteger(holder) ? holder : '(starting)'}`); said = true; }
    if (Date.now() > deadline) throw new Error(`the tiny kernel build in process ${holder} did not finish in time (${BUILD_LOCK})`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function buildLocked(log: (line: string) => void, opts: { deadlineMs?: number }): Promise<TinyKernel> {
  const deadline = Date.now() + (opts.deadlineMs ?? 1_500_000);
  const left = () => Math.max(1_000, deadline - Date.now());
  mkdirSync(TINY_DIR, { recursive: true });
  const buildLog = join(TINY_DIR, 'build.log');
  writeFileSync(buildLog, '');
  const t0 = Date.now();

  const missing = BUILD_PACKAGES.filter((p) => !installed(p));
  if (missing.length) {
    log(`installing build packages: ${missing.join(' ')}`);
    await step(log, buildLog, 'apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], TINY_DIR, left());
  }
  const root = unpackDebs('linux-source', [SOURCE_PACKAGE]);
  const tarball = readdirSync(join(root, 'usr/src')).find((f) => /^linux-source-.*\.tar\.(xz|bz2|gz)$/.test(f));
  if (!tarball) throw new Error(`${SOURCE_PACKAGE} unpacked without a source tarball in ${join(root, 'usr/src')}`);
  const src = join(TINY_DIR, 'src');
  // A configured tree of this recipe (a build cut short: deadline, kill) resumes where make stopped.
  const configured = join(src, '.baton-recipe');
  if (existsSync(configured) && readFileSync(configured, 'utf8') === kernelStamp()) {
    log(`resuming the build in ${src}`);
  } else {
    rmSync(src, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    await step(log, buildLog, 'tar', ['-xf', join(root, 'usr/src', tarball), '-C', src, '--strip-components=1'], TINY_DIR, left());
    await step(log, buildLog, 'make', ['tinyconfig'], src, left());
    await step(log, buildLog, 'scripts/config', TINY_KERNEL_OPTIONS.flatMap((o) => ['-e', o]), src, left());
    await step(log, buildLog, 'make', ['olddefconfig'], src, left());
    writeFileSync(configured, kernelStamp());
  }
  const config = readFileSync(join(src, '.config'), 'utf8');
  const lost = TINY_KERNEL_OPTIONS.filter((o) => !new RegExp(`^CONFIG_${o}=y$`, 'm').test(config));
  if (lost.length) throw new Error(`olddefconfig dropped ${lost.join(', ')} (see ${buildLog})`);
  await step(log, buildLog, 'make', [`-j${Math.max(1, cpus().length)}`, 'bzImage'], src, left());
  copyFileSync(join(src, 'arch/x86/boot/bzImage'), `${BZIMAGE}.tmp`);
  copyFileSync(join(src, '.config'), join(TINY_DIR, 'config'));
  renameSync(`${BZIMAGE}.tmp`, BZIMAGE);
  writeFileSync(BZIMAGE_STAMP, kernelStamp());
  rmSync(src, { recursive: true, force: true });
  rmSync(join(LAB_CACHE, 'linux-source'), { recursive: true, force: true });
  log(`built ${BZIMAGE} in ${Math.round((Date.now() - t0) / 1000)} s`);
  return { bzImage: BZIMAGE, initrd: buildTinyInitrd() };
}
