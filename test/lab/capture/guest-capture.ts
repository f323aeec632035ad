// Runs inside L1: loads drivers, waits for them to settle, then copies the live sysfs into the
// results share, once per requested state (a state may first hand functions to vfio-pci).
// Usage: node guest-capture.js '<CaptureSpec JSON>'
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SysfsCopier } from './sysfs-copy.js';
import { bindToVfio, currentDriver } from './vfio-bind.js';

export interface CaptureSpec {
  modules: string[];
  /** Functions that must have a driver before capturing. */
  waitForDrivers: string[];
  states: { name: string; vfio?: string[] }[];
}

const SYS = '/sys';
const share = process.env.LAB_SHARE ?? '/run/lab';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function settle(spec: CaptureSpec): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (spec.waitForDrivers.some((a) => !currentDriver(SYS, a))) {
    if (Date.now() > deadline) throw new Error(`drivers not bound: ${spec.waitForDrivers.filter((a) => !currentDriver(SYS, a)).join(' ')}`);
    await sleep(250);
  }
  // HDA codecs and DRM connectors appear asynchronously: wait until sound and drm stop changing.
  const snapshot = (): string => ['class/sound', 'class/drm'].map((c) => (existsSync(join(SYS, c)) ? readdirSync(join(SYS, c)).join(',') : '')).join('|');
  let last = snapshot();
  for (let stable = 0; stable < 8 && Date.now() < deadline; ) {
    await sleep(250);
    const now = snapshot();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}

/** Display-class devices only: other devices' ROMs (EFI network boot images) are large and of no use. */
function displayDevices(): string[] {
  const devices = join(SYS, 'bus/pci/devices');
  return readdirSync(devices)
    .filter((a) => readFileSync(join(devices, a, 'class'), 'utf8').startsWith('0x03'))
    .map((a) => realpathSync(join(devices, a)));
}

/**
 * Copies into tmpfs first (thousands of small writes over 9p under TCG are slow), then writes one
 * reproducible tar (sorted, owner 0, mtime 0) into the share.
 */
async function captureState(name: string): Promise<void> {
  const out = join('/tmp/capture', name);
  const copier = new SysfsCopier(SYS, out);
  for (const part of ['devices/pci0000:00', 'bus/pci', 'kernel/iommu_groups', 'class/drm', 'module/vfio_pci']) {
    if (existsSync(join(SYS, part))) await copier.copy(join(SYS, part));
  }
  const roms = [];
  for (const dev of displayDevices()) if (await copier.copyRom(dev)) roms.push(dev);
  mkdirSync(join(share, 'capture'), { recursive: true });
  execFileSync('tar', ['-cf', join(share, 'capture', `${name}.tar`), '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', out, '.'], { timeout: 120_000 });
  writeFileSync(join(share, 'capture', `${name}.report.json`), JSON.stringify({ ...copier.report, roms, kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() }, null, 1));
  process.stdout.write(`captured ${name}: ${copier.report.files} files, ${copier.report.links} links, ${roms.length} ROMs, ${copier.report.skipped.length} skipped\n`);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as CaptureSpec;
  for (const m of spec.modules) execFileSync('modprobe', [m], { stdio: 'inherit', timeout: 60_000 });
  await settle(spec);
  for (const state of spec.states) {
    if (state.vfio?.length) {
      execFileSync('modprobe', ['vfio-pci'], { stdio: 'inherit', timeout: 60_000 });
      bindToVfio(SYS, state.vfio);
    }
    await captureState(state.name);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`guest-capture: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
