// doctor's input checks against real device nodes made with mknod in a temporary /dev (we are
// root here; where mknod is refused the node tests say so and fail rather than pass).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInputs, deviceNumbers } from '../../../app/cli/client/input-checks.js';
import { formatConfigError, parseConfig, type BatonConfig } from '../../../app/domain/config/index.js';

const BY_ID = '/dev/input/by-id';
let root: string;

function config(extra = ''): BatonConfig {
  const text = `gpus:\n  - { name: a, match: { address: "01:00.0" } }\nvms:\n  - { name: w, backend: qmp, socket: /run/w.qmp }\n${extra}inputs:\n  devices:\n`
    + `    - { name: kbd, path: ${BY_ID}/usb-Kbd-event-kbd }\n    - { name: mouse, path: ${BY_ID}/usb-Mouse-event-mouse }\n    - { name: js, path: ${BY_ID}/usb-Pad-event-joystick }\n    - { name: file, path: ${BY_ID}/usb-File-event-kbd }\n    - { name: gone, path: ${BY_ID}/usb-Gone-event-kbd }\n  follow: [kbd, mouse]\n`;
  const r = parseConfig(text, 'f.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'baton-input-'));
  mkdirSync(join(root, BY_ID), { recursive: true });
  const node = (name: string, major: number, minor: number) => execFileSync('mknod', [join(root, 'dev/input', name), 'c', String(major), String(minor)]);
  node('event3', 13, 67);
  node('event300', 13, 300); // a dynamic evdev minor
  node('js0', 13, 0); // joydev: input major, not evdev
  execFileSync('mknod', [join(root, 'dev/uinput'), 'c', '10', '223']);
  writeFileSync(join(root, 'dev/input/plain'), '');
  symlinkSync('../event3', join(root, BY_ID, 'usb-Kbd-event-kbd'));
  symlinkSync('../event300', join(root, BY_ID, 'usb-Mouse-event-mouse'));
  symlinkSync('../js0', join(root, BY_ID, 'usb-Pad-event-joystick'));
  symlinkSync('../plain', join(root, BY_ID, 'usb-File-event-kbd'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('doctor input checks', () => {
  it('says which inputs are evdev, which are not, and which are missing', () => {
    const findings = checkInputs(config(), { devRoot: root });
    const by = (n: string) => findings.find((f) => f.what.startsWith(`input ${n}:`));
    expect(by('kbd')).toMatchObject({ level: 'ok', what: `input kbd: ${BY_ID}/usb-Kbd-event-kbd is evdev event3` });
    expect(by('mouse')?.level).toBe('ok');
    expect(by('js')).toMatchObject({ level: 'error', what: expect.stringContaining('is not an evdev device (it is js0, device 13:0)') });
    expect(by('file')).toMatchObject({ level: 'error', what: expect.stringContaining('is not a character device') });
    expect(by('gone')).toMatchObject({ level: 'error', what: expect.stringContaining('does not exist') });
    expect(findings.find((f) => f.what.includes('/dev/uinput'))?.level).toBe('ok');
  });

  it('reports a missing /dev/uinput', () => {
    rmSync(join(root, 'dev/uinput'));
    expect(checkInputs(config(), { devRoot: root }).find((f) => f.what.includes('/dev/uinput'))).toMatchObject({ level: 'error', fix: expect.stringContaining('modprobe uinput') });
  });

  it('warns that a Xen VM cannot take the inputs and names the USB-controller way', () => {
    const c = config().vms.concat(); // keep the type
    const withXen = { ...config(), vms: [...c, { name: 'x', backend: 'xen' as const, domain: 'x', release: { method: 'hot-unplug' as const, timeoutSeconds: 30 }, acquire: 'hot-plug' as const }] };
    const xen = checkInputs(withXen, { devRoot: root }).find((f) => f.what.startsWith('x (xen)'));
    expect(xen).toMatchObject({ level: 'warning', what: expect.stringContaining('Xen cannot take an evdev input'), fix: expect.stringContaining('move a USB controller with the GPU instead') });
  });

  it('says nothing when no inputs are configured', () => {
    const r = parseConfig('gpus: []\n', 'f.yaml');
    expect(r.ok && checkInputs(r.config, { devRoot: root })).toEqual([]);
  });

  it('splits a 64-bit dev_t as glibc does', () => {
    expect(deviceNumbers((13n << 8n) | 67n)).toEqual({ major: 13n, minor: 67n });
    expect(deviceNumbers((13n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n))).toEqual({ major: 13n, minor: 300n });
  });
});
