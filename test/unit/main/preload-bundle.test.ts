// The preload as Electron runs it: the bundle scripts/build-main.mjs makes (one CommonJS file that
// requires nothing but electron, as a sandboxed preload must), run in a fresh VM context with a fake
// contextBridge and ipcRenderer. It exposes exactly one global, batonDesk, whose functions reach only
// the schema's channels, and gives the renderer no event object and no ipcRenderer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipcChannels } from '../../../app/protocol/ipc-schema.js';

let dir = '';
let code = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-preload-'));
  await build({ input: 'app/main/preload/preload.ts', external: ['electron'], platform: 'node', output: { file: join(dir, 'preload.cjs'), format: 'cjs' }, logLevel: 'silent' });
  code = readFileSync(join(dir, 'preload.cjs'), 'utf8');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runPreload() {
  const exposed: Record<string, unknown> = {};
  const invoked: string[] = [];
  const listeners = new Map<string, (event: unknown, payload: unknown) => void>();
  const required: string[] = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => void (exposed[key] = value) },
    ipcRenderer: {
      invoke: async (channel: string) => (invoked.push(channel), { type: 'success', value: { kind: 'connected' } }),
      on: (channel: string, l: (event: unknown, payload: unknown) => void) => void listeners.set(channel, l),
      removeListener: (channel: string) => void listeners.delete(channel),
    },
  };
  const module = { exports: {} };
  runInNewContext(code, { require: (name: string) => (required.push(name), name === 'electron' ? electron : undefined), module, exports: module.exports });
  return { exposed, invoked, listeners, required };
}

describe('the preload bundle', () => {
  it('requires electron and nothing else', () => {
    const requires = [...code.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(new Set(requires)).toEqual(new Set(['electron']));
    expect(runPreload().required).toEqual(['electron']);
  });

  it('exposes exactly one object, batonDesk: DeskClient\'s functions and desktop, no ipcRenderer', () => {
    const { exposed } = runPreload();
    expect(Object.keys(exposed)).toEqual(['batonDesk']);
    const bridge = exposed.batonDesk as Record<string, unknown>;
    expect(Object.keys(bridge).sort()).toEqual(['connection', 'desktop', 'historyPage', 'snapshot', 'subscribe', 'switchGpu']);
    expect(Object.keys(bridge.desktop as object).sort()).toEqual(['onOpenSwitch', 'onShortcuts', 'shortcuts', 'trayHost']);
    expect(JSON.stringify(Object.keys(bridge))).not.toMatch(/ipc|send|invoke/i);
  });

  it('talks only on the schema\'s channels, and listeners never receive the event', async () => {
    const { exposed, invoked, listeners } = runPreload();
    const bridge = exposed.batonDesk as { historyPage(q: unknown): Promise<unknown>; desktop: { onOpenSwitch(l: (...a: unknown[]) => void): () => void } };
    await bridge.historyPage({ limit: 5 });
    const channels = new Set(ipcChannels().map((c) => c.channel));
    expect(invoked.length).toBeGreaterThan(0);
    expect(invoked.every((c) => channels.has(c))).toBe(true);
    expect([...listeners.keys()].every((c) => channels.has(c))).toBe(true);
    const got: unknown[][] = [];
    const stop = bridge.desktop.onOpenSwitch((...args) => got.push(args));
    listeners.get('baton:desktop-openSwitch')?.({ sender: 'the IpcRendererEvent' }, 'sw-1');
    expect(got).toEqual([['sw-1']]);
    stop();
    expect(listeners.has('baton:desktop-openSwitch')).toBe(false);
  });
});
