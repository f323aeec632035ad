// `baton doctor` on the configured inputs: each path exists, is a character device, and is an
// evdev node (input major 13, an eventN minor), /dev/uinput is there for the relay, and no Xen VM
// expects the input to follow (Xen takes no evdev input). devRoot is a parameter so tests run
// against a folder holding real device nodes.
import { realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BatonConfig } from '../../domain/config/index.js';
import type { Finding } from './doctor-checks.js';

const INPUT_MAJOR = 13n;
/** evdev's minors: 64-95 (EVDEV_MINOR_BASE, EVDEV_MINORS), then dynamic ones from 256. */
const isEvdevMinor = (minor: bigint) => (minor >= 64n && minor < 96n) || minor >= 256n;

/** glibc's gnu_dev_major/gnu_dev_minor on a 64-bit dev_t. */
export function deviceNumbers(rdev: bigint): { major: bigint; minor: bigint } {
  return {
    major: ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn),
    minor: (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn),
  };
}

function checkInputPath(devRoot: string, name: string, path: string): Finding {
  const where = join(devRoot, path);
  let real: string;
  try {
    real = realpathSync(where);
  } catch {
    return { level: 'error', what: `input ${name}: ${path} does not exist`, fix: 'plug the device in, or pick its link from ls -l /dev/input/by-id/ (the one ending in -event-kbd or -event-mouse)' };
  }
  const st = statSync(real, { bigint: true });
  if (!st.isCharacterDevice()) return { level: 'error', what: `input ${name}: ${path} is not a character device`, fix: 'name the evdev link in /dev/input/by-id/ or /dev/input/by-path/' };
  const { major, minor } = deviceNumbers(st.rdev);
  if (major !== INPUT_MAJOR || !isEvdevMinor(minor) || !/^event[0-9]+$/.test(basename(real))) {
    return { level: 'error', what: `input ${name}: ${path} is not an evdev device (it is ${basename(real)}, device ${major}:${minor})`, fix: 'name the link ending in -event-kbd or -event-mouse, not the mousedev or js node' };
  }
  return { level: 'ok', what: `input ${name}: ${path} is evdev ${basename(real)}` };
}

export interface InputCheckPaths {
  /** Prefix for /dev paths ("/" on the machine). */
  devRoot: string;
}

export function checkInputs(config: BatonConfig, { devRoot }: InputCheckPaths = { devRoot: '/' }): Finding[] {
  const devices = config.inputs.devices;
  if (devices.length === 0) return [];
  const findings = devices.map((d) => checkInputPath(devRoot, d.name, d.path));
  let uinput = false;
  try {
    uinput = statSync(join(devRoot, 'dev/uinput')).isCharacterDevice();
  } catch {
    uinput = false;
  }
  findings.push(uinput
    ? { level: 'ok', what: '/dev/uinput present (the input relay creates its virtual devices there)' }
    : { level: 'error', what: '/dev/uinput missing: inputs cannot follow a GPU into a VM', fix: 'modprobe uinput (and add uinput to /etc/modules-load.d/)' });
  const following = config.gpus.some((g) => (g.inputs ?? config.inputs.follow).length > 0);
  for (const vm of config.vms) {
    if (vm.backend !== 'xen' || !following) continue;
    findings.push({ level: 'warning', what: `${vm.name} (xen): Xen cannot take an evdev input; the configured inputs stay with the host when a GPU moves there`, fix: 'move a USB controller with the GPU instead (a PCI device outside its IOMMU group, in movablePeers)' });
  }
  return findings;
}
