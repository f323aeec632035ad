// The two busybox initrds of the Xen lab: dom0's (9p + overlay + Xen modules, then the scenario)
// and the PV guests' (xen-pcifront, then idle and report PCI devices).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzippedCpio, type CpioEntry } from './cpio.js';
import { modulesInLoadOrder } from './kernel-modules.js';

export const BUSYBOX = '/bin/busybox';
const HERE = import.meta.dirname;

/** 9p over virtio for the host root, overlay to make it writable, then the Xen dom0 drivers. */
const DOM0_MODULES = [
  'virtio_pci', '9pnet_virtio', '9p', 'overlay',
  'xen-evtchn', 'xen-gntdev', 'xen-gntalloc', 'xen-privcmd', 'xenfs', 'xen-pciback',
];
const GUEST_MODULES = ['xen-pcifront'];

function busyboxBase(init: string): CpioEntry[] {
  return [
    ...['bin', 'dev', 'proc', 'sys', 'tmp', 'modules'].map((path): CpioEntry => ({ kind: 'dir', path })),
    { kind: 'file', path: 'bin/busybox', data: readFileSync(BUSYBOX), executable: true },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'init', data: readFileSync(join(HERE, init)), executable: true },
  ];
}

function moduleEntries(modulesDir: string, names: string[]): CpioEntry[] {
  const paths = modulesInLoadOrder(modulesDir, names);
  return [
    ...paths.map((p): CpioEntry => ({ kind: 'file', path: `modules/${basename(p)}`, data: readFileSync(p) })),
    { kind: 'file', path: 'modules/order', data: Buffer.from(paths.map((p) => basename(p)).join('\n') + '\n') },
  ];
}

export interface Dom0Env {
  xenRoot: string;
  guestKernel: string;
  guestRamdisk: string;
}

export function writeDom0Initrd(file: string, modulesDir: string, env: Dom0Env): void {
  const labEnv = [
    `XEN_ROOT='${env.xenRoot}'`,
    `GUEST_KERNEL='${env.guestKernel}'`,
    `GUEST_RAMDISK='${env.guestRamdisk}'`,
    `SCENARIO='${join(HERE, 'dom0-scenario.sh')}'`,
  ].join('\n');
  writeFileSync(file, gzippedCpio([
    ...busyboxBase('dom0-init.sh'),
    ...moduleEntries(modulesDir, DOM0_MODULES),
    { kind: 'file', path: 'lab.env', data: Buffer.from(labEnv + '\n') },
  ]));
}

export function writeGuestInitrd(file: string, modulesDir: string): void {
  writeFileSync(file, gzippedCpio([...busyboxBase('guest-init.sh'), ...moduleEntries(modulesDir, GUEST_MODULES)]));
}
