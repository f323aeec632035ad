// BatonApplication with every port faked: the no-tray fallback, the tray when there is one, a
// second launch, closing the window, shortcuts bound from the desk and reported to the window,
// the cycle shortcut, and notifications from the helper's events.
import { describe, expect, it } from 'vitest';
import { BatonApplication, type ApplicationPorts } from '../../../app/main/application.js';
import type { HelperSession } from '../../../app/main/helper-connection.js';
import type { SenderFrame } from '../../../app/main/ipc-main.js';
import type { NotificationContent, TrayPort } from '../../../app/main/ports.js';
import type { DeskEvent, DeskSnapshot } from '../../../app/protocol/desk.js';
import { ipcChannel } from '../../../app/protocol/ipc-schema.js';
import { desk, entry, gpu } from './fixtures.js';

const settle = () => new Promise((r) => setImmediate(r));

function harness(opts: { tray: boolean | null; background?: boolean; snapshot?: DeskSnapshot; taken?: string[]; env?: Record<string, string> }) {
  const log: string[] = [];
  const window: string[] = [];
  const sent: { channel: string; payload: unknown }[] = [];
  const notes: NotificationContent[] = [];
  const switches: string[] = [];
  const bound = new Map<string, () => void>();
  const handlers = new Map<string, (f: SenderFrame | null, a: unknown) => Promise<unknown>>();
  let trays = 0;
  let eventListener: ((e: DeskEvent) => void) | null = null;
  const session: HelperSession = {
    subscribeDesk: async () => opts.snapshot ?? desk(),
    onDeskEvent: (l) => void (eventListener = l),
    switchGpu: async (gpuName, target, by) => (switches.push(`${gpuName}→${target} (${by})`), { switchId: 's', outcome: 'succeeded', owner: target }),
    history: async () => ({ entries: [], nextCursor: null, total: 0 }),
    onClose: () => {},
    close: () => {},
  };
  const trayPort: TrayPort = { setIcon: () => {}, setToolTip: () => {}, setMenu: () => {}, destroy: () => {} };
  const ports: ApplicationPorts = {
    createTray: () => (trays++, trayPort),
    window: { show: () => void window.push('show'), hide: () => void window.push('hide'), focusSwitch: (id) => void window.push(`focus ${id}`) },
    notifier: { isSupported: () => true, show: (c) => void notes.push(c) },
    shortcuts: {
      register: (a, cb) => !(opts.taken ?? []).includes(a) && (bound.set(a, cb), true),
      unregister: (a) => void bound.delete(a),
    },
    app: { quit: () => void window.push('quit') },
    bus: { nameHasOwner: async () => opts.tray },
    ipc: { handle: (channel, l) => void handlers.set(channel, l) },
    renderer: () => ({ send: (channel, payload) => void sent.push({ channel, payload }) }),
    connect: async () => session,
    timers: { setTimeout: () => 0, clearTimeout: () => {} },
    clock: () => 0,
    panel: () => 'dark',
    env: opts.env ?? { XDG_CURRENT_DESKTOP: 'GNOME', XDG_SESSION_TYPE: 'x11' },
    socketPath: '/run/baton/helper.sock',
    startedInBackground: opts.background ?? true,
    log: (l) => void log.push(l),
  };
  const app = new BatonApplication(ports);
  return { app, log, window, sent, notes, switches, bound, handlers, trays: () => trays, push: (e: DeskEvent) => eventListener?.(e) };
}

const own: SenderFrame = { url: 'baton://app/index.html', parent: null };

describe('BatonApplication', () => {
  it('no tray on the bus (stock GNOME): no tray icon, the window shows even when started in the background, the advice is logged and offered to the window, closing quits', async () => {
    const h = harness({ tray: false, background: true });
    await h.app.start();
    expect(h.trays()).toBe(0);
    expect(h.window).toEqual(['show']);
    expect(h.log.some((l) => l.includes('AppIndicator'))).toBe(true);
    expect(await h.handlers.get(ipcChannel('desktop', 'trayHost'))?.(own, undefined)).toMatchObject({ type: 'success', value: { available: false } });
    expect(h.app.windowCloseRequested()).toBe('quit');
    expect(h.window.at(-1)).toBe('quit');
  });

  it('with a tray: the icon exists, a background start keeps the window hidden, closing hides, a second launch shows it', async () => {
    const h = harness({ tray: true, background: true });
    await h.app.start();
    expect(h.trays()).toBe(1);
    expect(h.window).toEqual([]);
    expect(h.app.windowCloseRequested()).toBe('hide');
    h.app.secondInstance();
    expect(h.window).toEqual(['hide', 'show']);
  });

  it('binds the config\'s shortcuts once the desk arrives, reports them to the window, and a press switches', async () => {
    const snapshot = desk({
      gpus: [gpu('gpu-a', '0000:01:00.0', { owner: 'win11' })],
      config: { file: '/etc/baton/baton.yaml', effective: {}, findings: [], shortcuts: [
        { keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'host' },
        { keys: 'Super+Alt+C', gpu: 'gpu-a', target: 'cycle' },
        { keys: 'Super+Alt+2', gpu: 'gpu-a', target: 'park' },
      ] },
    });
    const h = harness({ tray: true, snapshot, taken: ['Super+Alt+2'] });
    await h.app.start();
    await settle();
    expect([...h.bound.keys()]).toEqual(['Super+Alt+1', 'Super+Alt+C']);
    const report = h.sent.find((s) => s.channel === ipcChannel('desktop', 'shortcutsChanged'))?.payload as { shortcuts: { status: string }[] };
    expect(report.shortcuts.map((s) => s.status)).toEqual(['registered', 'registered', 'failed']);
    h.bound.get('Super+Alt+1')?.();
    h.bound.get('Super+Alt+C')?.();
    await settle();
    // gpu-a is with win11; its targets are win11, linux-dev, host, park: cycle goes on to linux-dev.
    expect(h.switches).toEqual(['gpu-a→host (shortcut)', 'gpu-a→linux-dev (shortcut)']);
  });

  it('forwards desk events to the window and notifies the outcome; a click focuses that switch', async () => {
    const h = harness({ tray: true });
    await h.app.start();
    await settle();
    h.push({ kind: 'history-appended', entry: entry({ id: 'sw-5', outcome: 'rolled-back', finalOwner: 'host', error: 'guest did not release' }) });
    expect(h.sent.filter((s) => s.channel === ipcChannel('desk', 'event'))).toHaveLength(1);
    expect(h.notes.map((n) => n.title)).toEqual(['Moving gpu-a to win11 failed']);
    expect(h.sent.some((s) => s.channel === ipcChannel('desk', 'connectionChanged') && (s.payload as { kind: string }).kind === 'connected')).toBe(true);
  });

  it('a switch from the window is requested by "tray"; the window\'s snapshot is the helper\'s', async () => {
    const h = harness({ tray: false });
    await h.app.start();
    await settle();
    expect(await h.handlers.get(ipcChannel('desk', 'switchGpu'))?.(own, { gpu: 'gpu-a', target: 'park' })).toMatchObject({ type: 'success' });
    expect(h.switches).toEqual(['gpu-a→park (tray)']);
    expect(await h.handlers.get(ipcChannel('desk', 'snapshot'))?.(own, undefined)).toMatchObject({ type: 'success', value: { revision: 1 } });
  });
});
