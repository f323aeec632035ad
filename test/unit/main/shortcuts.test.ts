// Global shortcuts: config chords become accelerators, each press asks for its switch, and every
// failure is reported: a chord taken by another application, the same chord twice, keys Electron
// cannot bind, a shortcut with no GPU; on Wayland what the portal may have done silently.
import { describe, expect, it } from 'vitest';
import { sessionType, toAccelerator } from '../../../app/main/accelerator.js';
import type { GlobalShortcutPort } from '../../../app/main/ports.js';
import { cycleTarget, ShortcutController } from '../../../app/main/shortcut-controller.js';

function fakeShortcuts(taken: string[] = []) {
  const bound = new Map<string, () => void>();
  const port: GlobalShortcutPort = {
    register(accelerator, callback) {
      if (taken.includes(accelerator) || bound.has(accelerator)) return false;
      bound.set(accelerator, callback);
      return true;
    },
    unregister: (accelerator) => void bound.delete(accelerator),
  };
  return { port, bound, press: (a: string) => bound.get(a)?.() };
}

function controller(port: GlobalShortcutPort, session: 'x11' | 'wayland' = 'x11') {
  const pressed: string[] = [];
  const c = new ShortcutController({ port, session, viaPortal: session === 'wayland', clock: () => Date.parse('2026-12-01T20:00:00Z'), trigger: (gpu, target) => pressed.push(`${gpu}→${target}`) });
  return { c, pressed };
}

describe('accelerators', () => {
  it.each([
    ['Super+Alt+1', 'Super+Alt+1'],
    ['ctrl+shift+f5', 'Ctrl+Shift+F5'],
    ['Control+Alt+PageUp', 'Ctrl+Alt+PageUp'],
    ['Meta+Alt+minus', 'Super+Alt+-'],
    ['Shift+Super+Shift+k', 'Shift+Super+K'],
  ])('%s → %s', (keys, accelerator) => {
    expect(toAccelerator(keys)).toEqual({ ok: true, accelerator });
  });

  it.each([
    ['Hyper+1', /Hyper cannot be bound/],
    ['Super+Alt+Pause', /Pause cannot be bound/],
    ['Super+Alt+F25', /not a key/],
    ['1', /needs a modifier/],
  ])('%s is refused with a reason', (keys, message) => {
    const r = toAccelerator(keys);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('tells X11 from Wayland', () => {
    expect(sessionType({ XDG_SESSION_TYPE: 'wayland' })).toBe('wayland');
    expect(sessionType({ WAYLAND_DISPLAY: 'wayland-0' })).toBe('wayland');
    expect(sessionType({ XDG_SESSION_TYPE: 'x11', WAYLAND_DISPLAY: 'w' })).toBe('x11');
    expect(sessionType({ DISPLAY: ':0' })).toBe('x11');
    expect(sessionType({})).toBe('unknown');
  });
});

describe('ShortcutController', () => {
  it('each press asks for its own switch', () => {
    const s = fakeShortcuts();
    const { c, pressed } = controller(s.port);
    c.apply([
      { keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'win11' },
      { keys: 'Super+Alt+H', gpu: 'gpu-a', target: 'host' },
      { keys: 'Super+Alt+C', gpu: 'gpu-b', target: 'cycle' },
    ]);
    s.press('Super+Alt+H');
    s.press('Super+Alt+1');
    s.press('Super+Alt+C');
    expect(pressed).toEqual(['gpu-a→host', 'gpu-a→win11', 'gpu-b→cycle']);
    expect(c.report.shortcuts.map((r) => r.status)).toEqual(['registered', 'registered', 'registered']);
    expect(c.report.at).toBe('2026-12-01T20:00:00.000Z');
  });

  it('reports a chord held by another application, the same chord twice, unbindable keys and a missing GPU', () => {
    const s = fakeShortcuts(['Super+Alt+2']);
    const { c } = controller(s.port);
    c.apply([
      { keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'win11' },
      { keys: 'super+alt+1', gpu: 'gpu-a', target: 'host' },
      { keys: 'Super+Alt+2', gpu: 'gpu-a', target: 'park' },
      { keys: 'Hyper+3', gpu: 'gpu-a', target: 'park' },
      { keys: 'Super+Alt+4', gpu: null, target: 'host' },
    ]);
    const r = c.report.shortcuts;
    expect(r.map((x) => x.status)).toEqual(['registered', 'conflict', 'failed', 'invalid', 'invalid']);
    expect(r[1]?.message).toBe('the same chord as Super+Alt+1 (gpu-a → win11); only the first is bound');
    expect(r[2]?.message).toMatch(/another application holds this chord/);
    expect(r[3]?.message).toMatch(/Hyper/);
    expect(r[4]?.message).toMatch(/names no GPU/);
    expect([...s.bound.keys()]).toEqual(['Super+Alt+1']);
  });

  it('an accelerator Electron throws on is reported, and the rest still bind', () => {
    const port: GlobalShortcutPort = {
      register: (a) => {
        if (a === 'Super+Alt+9') throw new Error('conversion failure');
        return true;
      },
      unregister: () => {},
    };
    const { c } = controller(port);
    c.apply([{ keys: 'Super+Alt+9', gpu: 'g', target: 'host' }, { keys: 'Super+Alt+8', gpu: 'g', target: 'host' }]);
    expect(c.report.shortcuts.map((x) => [x.status, x.message])).toEqual([['invalid', 'Electron refused the accelerator: conversion failure'], ['registered', null]]);
  });

  it('on a config change, unbinds the old chords and binds the new; the same config twice changes nothing', () => {
    const s = fakeShortcuts();
    const { c, pressed } = controller(s.port);
    expect(c.apply([{ keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'win11' }])).toBe(true);
    expect(c.apply([{ keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'win11' }])).toBe(false);
    expect(c.apply([{ keys: 'Super+Alt+2', gpu: 'gpu-a', target: 'host' }])).toBe(true);
    expect([...s.bound.keys()]).toEqual(['Super+Alt+2']);
    s.press('Super+Alt+1');
    s.press('Super+Alt+2');
    expect(pressed).toEqual(['gpu-a→host']);
  });

  it('on Wayland a registered shortcut says the portal may have refused it (electron#52218); a refusal names the portal', () => {
    const s = fakeShortcuts(['Super+Alt+2']);
    const { c } = controller(s.port, 'wayland');
    c.apply([{ keys: 'Super+Alt+1', gpu: 'g', target: 'host' }, { keys: 'Super+Alt+2', gpu: 'g', target: 'park' }]);
    expect(c.report.viaPortal).toBe(true);
    expect(c.report.shortcuts[0]?.message).toMatch(/GlobalShortcuts portal.*electron#52218/);
    expect(c.report.shortcuts[1]?.message).toBe('the desktop refused the binding (GlobalShortcuts portal)');
  });
});

describe('cycle', () => {
  it('goes to the target after the owner, round, never to park', () => {
    const targets = ['win11', 'linux-dev', 'host', 'park'];
    expect(cycleTarget({ owner: 'host', targets })).toBe('win11');
    expect(cycleTarget({ owner: 'win11', targets })).toBe('linux-dev');
    expect(cycleTarget({ owner: 'linux-dev', targets })).toBe('host');
    expect(cycleTarget({ owner: 'park', targets })).toBe('win11');
    expect(cycleTarget({ owner: 'host', targets: ['host', 'park'] })).toBeNull();
  });
});
