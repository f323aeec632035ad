// The IPC schema end to end without Electron: main's generated handlers (with the sender check and
// argument validation) and the preload's generated callers and the bridge, joined by an in-memory
// ipc. The bridge is checked against the renderer's own DeskClient interface.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createNotifiers, registerIpcMain, senderRefusal, type IpcHandlers, type SenderFrame } from '../../../app/main/ipc-main.js';
import { ipcValidators } from '../../../app/main/ipc-validators.js';
import { createBatonBridge } from '../../../app/main/preload/bridge.js';
import type { IpcRendererPort } from '../../../app/main/preload/ipc-renderer.js';
import { ipcChannel, ipcChannels, type ConnectionState as IpcConnectionState } from '../../../app/protocol/ipc-schema.js';
import type { ConnectionState, DeskClient } from '../../../renderer/client/types.js';
import { desk } from './fixtures.js';

const ownFrame: SenderFrame = { url: 'baton://app/index.html#/desk', parent: null };

function wire(frame: SenderFrame | null = ownFrame, over: Partial<IpcHandlers['desk']> = {}) {
  const handlers = new Map<string, (frame: SenderFrame | null, arg: unknown) => Promise<unknown>>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const log: string[] = [];
  const calls: unknown[] = [];
  registerIpcMain({
    port: { handle: (channel, listener) => void handlers.set(channel, listener) },
    validators: ipcValidators,
    log: (l) => log.push(l),
    handlers: {
      desk: {
        snapshot: async () => desk(),
        switchGpu: async (r) => (calls.push(r), { switchId: 'sw-1', outcome: 'succeeded', owner: r.target }),
        historyPage: async (q) => (calls.push(q), { entries: [], nextCursor: null, total: 0 }),
        connection: async () => ({ kind: 'helper-down', message: 'nothing listens on /s' }),
        ...over,
      },
      desktop: {
        shortcuts: async () => ({ session: 'x11', viaPortal: false, shortcuts: [], at: null }),
        trayHost: async () => ({ available: false, advice: 'install the AppIndicator extension' }),
      },
    },
  });
  const port: IpcRendererPort = {
    invoke: async (channel, arg) => {
      const h = handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      // Electron structured-clones both ways.
      return structuredClone(await h(frame, structuredClone(arg)));
    },
    on(channel, listener) {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set);
      set.add(listener);
      return () => set.delete(listener);
    },
  };
  const notify = createNotifiers(() => ({ send: (channel, payload) => listeners.get(channel)?.forEach((l) => l(structuredClone(payload))) }));
  return { handlers, port, notify, log, calls };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('IPC sender validation', () => {
  it('accepts only the app\'s own main frame', () => {
    expect(senderRefusal(ownFrame)).toBeNull();
    expect(senderRefusal(null)).toMatch(/no sender frame/);
    expect(senderRefusal({ url: 'baton://app/index.html', parent: {} })).toMatch(/a subframe/);
    expect(senderRefusal({ url: 'https://evil.example/', parent: null })).toBe('sender https://evil.example is not baton://app');
    expect(senderRefusal({ url: 'file:///usr/share/x.html', parent: null })).toMatch(/is not baton:\/\/app/);
    expect(senderRefusal({ url: 'baton://other/index.html', parent: null })).toMatch(/is not baton:\/\/app/);
    expect(senderRefusal({ url: 'not a url', parent: null })).toMatch(/does not parse/);
  });

  it('a foreign frame gets a refusal and the handler never runs', async () => {
    const w = wire({ url: 'https://evil.example/', parent: null });
    const bridge = createBatonBridge(w.port);
    await expect(bridge.switchGpu('gpu-a', 'park')).rejects.toThrow('refused: sender https://evil.example is not baton://app');
    expect(w.calls).toEqual([]);
    expect(w.log).toContain('ipc: refused baton:desk-switchGpu: sender https://evil.example is not baton://app');
  });

  it('a subframe of our own origin is refused too', async () => {
    const w = wire({ url: 'baton://app/frame.html', parent: { url: 'baton://app/index.html' } });
    await expect(createBatonBridge(w.port).snapshot()).rejects.toThrow(/refused: a subframe/);
  });
});

describe('IPC schema → main handlers and preload bridge', () => {
  it('every invoke channel of the schema has a handler; channels carry the prefix', () => {
    const w = wire();
    const invokes = ipcChannels().filter((c) => c.kind === 'invoke').map((c) => c.channel);
    expect([...w.handlers.keys()].sort()).toEqual(invokes.sort());
    expect(invokes.every((c) => c.startsWith('baton:'))).toBe(true);
  });

  it('answers cross intact; errors keep their message and code', async () => {
    const err = Object.assign(new Error('unknown GPU "nope" (known: gpu-a)'), { code: -32002 });
    const w = wire(ownFrame, { switchGpu: async () => Promise.reject(err) });
    const bridge = createBatonBridge(w.port);
    expect((await bridge.snapshot()).gpus[0]?.name).toBe('gpu-a');
    await expect(bridge.switchGpu('nope', 'host')).rejects.toMatchObject({ message: 'unknown GPU "nope" (known: gpu-a)', code: -32002 });
  });

  it('what the renderer sends is validated before the handler sees it', async () => {
    const w = wire();
    const invoke = (key: string, arg: unknown) => w.port.invoke(ipcChannel('desk', key), arg);
    expect(await invoke('switchGpu', { gpu: 'gpu-a', target: 'host', requestedBy: 'cli' })).toMatchObject({ type: 'error', message: expect.stringMatching(/invalid request on baton:desk-switchGpu/) });
    expect(await invoke('switchGpu', { gpu: '', target: 'host' })).toMatchObject({ type: 'error', message: expect.stringMatching(/^invalid request on baton:desk-switchGpu: gpu:/) });
    expect(await invoke('historyPage', { limit: 1e9 })).toMatchObject({ type: 'error' });
    expect(await invoke('snapshot', { sneaky: true })).toMatchObject({ type: 'error' });
    expect(w.calls).toEqual([]);
    expect(await invoke('historyPage', { limit: 10, outcome: ['failed', 'parked'] })).toMatchObject({ type: 'success' });
    expect(w.calls).toEqual([{ limit: 10, outcome: ['failed', 'parked'] }]);
  });

  it('the bridge follows the connection: asks once, then takes what main pushes', async () => {
    const w = wire();
    const bridge = createBatonBridge(w.port);
    const seen: ConnectionState[] = [];
    bridge.subscribe(() => {}, (s) => seen.push(s));
    await settle();
    w.notify.desk.connectionChanged({ kind: 'connected' });
    expect(seen).toEqual([{ kind: 'connecting', attempt: 0 }, { kind: 'helper-down', message: 'nothing listens on /s' }, { kind: 'connected' }]);
    expect(bridge.connection()).toEqual({ kind: 'connected' });
  });

  it('desk events reach subscribers until they unsubscribe; the IpcRendererEvent never does', async () => {
    const w = wire();
    const bridge = createBatonBridge(w.port);
    const events: unknown[][] = [];
    const stop = bridge.subscribe((...args: unknown[]) => events.push(args), () => {});
    w.notify.desk.event({ kind: 'desk-changed', snapshot: desk({}, 2) });
    stop();
    w.notify.desk.event({ kind: 'desk-changed', snapshot: desk({}, 3) });
    expect(events).toHaveLength(1);
    expect(events[0]).toHaveLength(1);
  });

  it('the desktop extras: shortcut report, tray host, notification clicks', async () => {
    const w = wire();
    const bridge = createBatonBridge(w.port);
    expect(await bridge.desktop.trayHost()).toEqual({ available: false, advice: 'install the AppIndicator extension' });
    const opened: string[] = [];
    bridge.desktop.onOpenSwitch((id) => opened.push(id));
    w.notify.desktop.openSwitch('sw-7');
    expect(opened).toEqual(['sw-7']);
  });

  it('the bridge is the renderer\'s DeskClient, and both sides mean the same ConnectionState', () => {
    const bridge = createBatonBridge(wire().port);
    expectTypeOf(bridge).toExtend<DeskClient>();
    expectTypeOf<IpcConnectionState>().toEqualTypeOf<ConnectionState>();
    const client: DeskClient = bridge;
    expect(typeof client.historyPage).toBe('function');
  });
});
