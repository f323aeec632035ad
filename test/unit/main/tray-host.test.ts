// No StatusNotifierItem host → never hide into a missing tray: the window shows, closing it quits,
// and the user is told how to get a tray. The real gdbus adapter is asked a private session bus.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gdbusSessionBus } from '../../../app/main/session-bus.js';
import { checkTrayHost, STATUS_NOTIFIER_WATCHER, windowPolicy } from '../../../app/main/tray-host.js';
import type { SessionBusPort } from '../../../app/main/ports.js';

const bus = (answer: boolean | null, asked: string[] = []): SessionBusPort => ({ nameHasOwner: async (n) => (asked.push(n), answer) });

describe('tray host', () => {
  it('asks the bus for org.kde.StatusNotifierWatcher', async () => {
    const asked: string[] = [];
    expect(await checkTrayHost(bus(true, asked), 'KDE')).toEqual({ available: true, advice: null });
    expect(asked).toEqual([STATUS_NOTIFIER_WATCHER]);
  });

  it('GNOME without a watcher: how to get the AppIndicator extension, and that the window stays', async () => {
    const r = await checkTrayHost(bus(false), 'ubuntu:GNOME');
    expect(r.available).toBe(false);
    expect(r.advice).toMatch(/AppIndicator extension.*gnome-shell-extension-appindicator/);
    expect(r.advice).toMatch(/closing it quits/);
    expect((await checkTrayHost(bus(false), 'XFCE')).advice).toMatch(/enable your panel's tray/);
    expect((await checkTrayHost(bus(null), 'GNOME')).advice).toMatch(/^Could not ask the session bus/);
  });

  it('the window shows at start and closing quits unless a tray really works', () => {
    expect(windowPolicy({ available: false, advice: 'x' }, true)).toEqual({ showAtStart: true, closeHides: false });
    expect(windowPolicy({ available: null, advice: 'x' }, true)).toEqual({ showAtStart: true, closeHides: false });
    expect(windowPolicy({ available: true, advice: null }, true)).toEqual({ showAtStart: false, closeHides: true });
    expect(windowPolicy({ available: true, advice: null }, false)).toEqual({ showAtStart: true, closeHides: true });
  });
});

const haveDbus = existsSync('/usr/bin/dbus-daemon') && existsSync('/usr/bin/gdbus');
describe.skipIf(!haveDbus)('gdbus adapter against a private session bus (dbus-daemon)', () => {
  let daemon: ChildProcess;
  let address = '';
  beforeAll(async () => {
    daemon = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1', '--nopidfile'], { stdio: ['ignore', 'pipe', 'inherit'] });
    address = await new Promise<string>((resolve, reject) => {
      daemon.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
      daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
    });
  });
  afterAll(() => daemon?.kill());

  it('answers false for the watcher and true for the bus itself', async () => {
    const port = gdbusSessionBus({ env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address } });
    expect(await port.nameHasOwner(STATUS_NOTIFIER_WATCHER)).toBe(false);
    expect(await port.nameHasOwner('org.freedesktop.DBus')).toBe(true);
  });

  it('answers null when there is no bus to ask', async () => {
    const port = gdbusSessionBus({ env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });
    expect(await port.nameHasOwner(STATUS_NOTIFIER_WATCHER)).toBeNull();
  });
});
if (!haveDbus) console.log('SKIPPED gdbus adapter test: dbus-daemon or gdbus missing (test/package/setup.sh installs dbus)');
