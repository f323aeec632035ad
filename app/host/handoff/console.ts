// The host console on a boot VGA: framebuffer consoles and firmware framebuffers hold the GPU's
// memory, so they are released before the handoff and given back on release.
import type { ConsoleRecord } from './driver-memory.js';
import type { KernelLane } from '../kernel/kernel-writer.js';
import type { Sysfs } from '../sysfs/sysfs.js';

const PLATFORM_FRAMEBUFFERS = ['efi-framebuffer', 'simple-framebuffer', 'vesa-framebuffer'];

export async function releaseConsole(sysfs: Sysfs, writer: Pick<KernelLane, 'write'>): Promise<ConsoleRecord> {
  const record: ConsoleRecord = { vtconsoles: [], platformFramebuffers: [] };
  for (const name of sysfs.list('class/vtconsole')) {
    const m = /^vtcon(\d+)$/.exec(name);
    if (!m) continue;
    const bound = sysfs.text(`class/vtconsole/${name}/bind`) === '1';
    const isFramebuffer = /frame buffer/i.test(sysfs.text(`class/vtconsole/${name}/name`) ?? '');
    if (bound && isFramebuffer) {
      await writer.write({ path: sysfs.path(`class/vtconsole/${name}/bind`), value: '0' });
      record.vtconsoles.push(Number(m[1]));
    }
  }
  for (const driver of PLATFORM_FRAMEBUFFERS) {
    for (const device of sysfs.list(`bus/platform/drivers/${driver}`).filter((d) => /^[a-z-]+\.\d+$/.test(d))) {
      await writer.write({ path: sysfs.path(`bus/platform/drivers/${driver}/unbind`), value: device });
      record.platformFramebuffers.push({ driver, device });
    }
  }
  return record;
}

export async function restoreConsole(sysfs: Sysfs, writer: Pick<KernelLane, 'write'>, record: ConsoleRecord): Promise<string[]> {
  const errors: string[] = [];
  const attempt = async (what: string, path: string, value: string) => {
    try {
      await writer.write({ path: sysfs.path(path), value });
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  for (const fb of record.platformFramebuffers) {
    if (!PLATFORM_FRAMEBUFFERS.includes(fb.driver) || !/^[a-z-]+\.\d+$/.test(fb.device)) continue;
    await attempt(`rebind ${fb.device}`, `bus/platform/drivers/${fb.driver}/bind`, fb.device);
  }
  for (const n of record.vtconsoles) {
    if (Number.isInteger(n) && n >= 0) await attempt(`rebind vtcon${n}`, `class/vtconsole/vtcon${n}/bind`, '1');
  }
  return errors;
}
