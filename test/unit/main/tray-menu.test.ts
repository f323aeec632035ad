// The tray menu model for every state: idle, a switch at each step, failed (each failing outcome),
// helper down, not allowed, connecting; and its icon in light and dark.
import { describe, expect, it } from 'vitest';
import { STEP_NAMES } from '../../../app/protocol/common-schemas.js';
import type { ConnectionState } from '../../../app/protocol/ipc-schema.js';
import { TrayController } from '../../../app/main/tray-controller.js';
import { actionId, buildTrayModel, parseActionId, type TrayAction, type TrayMenuItem } from '../../../app/main/tray-menu.js';
import type { TrayPort } from '../../../app/main/ports.js';
import type { DeskSnapshot } from '../../../app/protocol/desk.js';
import { desk, gpu } from './fixtures.js';

const connected: ConnectionState = { kind: 'connected' };
const model = (d: DeskSnapshot | null = desk(), connection: ConnectionState = connected) => buildTrayModel({ connection, desk: d, socketPath: '/run/baton/helper.sock', group: 'baton' });

function flat(items: TrayMenuItem[]): TrayMenuItem[] {
  return items.flatMap((i) => (i.kind === 'submenu' ? [i, ...flat(i.items)] : [i]));
}
const labels = (items: TrayMenuItem[]) => flat(items).flatMap((i) => ('label' in i ? [i.label] : []));
const actions = (items: TrayMenuItem[]) =>
  flat(items).flatMap((i) => (i.kind === 'action' ? [{ action: parseActionId(i.id) as TrayAction, label: i.label, enabled: i.enabled }] : []));

describe('tray menu', () => {
  it('idle: each GPU with its owner, every target but where it is, open and quit', () => {
    const m = model(desk({ gpus: [gpu('gpu-a', '0000:01:00.0', { owner: 'win11' }), gpu('gpu-b', '0000:02:00.0')] }));
    expect(m.icon).toBe('idle');
    expect(labels(m.items)).toContain('gpu-a (0000:01:00.0): with win11');
    expect(labels(m.items)).toContain('gpu-b (0000:02:00.0): with the host');
    const switches = actions(m.items).filter((a) => a.action.type === 'switch');
    expect(switches.filter((a) => a.action.type === 'switch' && a.action.gpu === 'gpu-a').map((a) => a.action.type === 'switch' && a.action.target)).toEqual(['linux-dev', 'host', 'park']);
    expect(switches.filter((a) => a.action.type === 'switch' && a.action.gpu === 'gpu-b').map((a) => a.action.type === 'switch' && a.action.target)).toEqual(['win11', 'linux-dev', 'park']);
    expect(switches.every((a) => a.enabled)).toBe(true);
    expect(labels(m.items)).toContain('Move to linux-dev (shut off)');
    expect(actions(m.items).map((a) => a.action.type).slice(-2)).toEqual(['open-window', 'quit']);
    expect(m.tooltip).toBe('Baton: gpu-a: with win11, gpu-b: with the host');
  });

  it.each(STEP_NAMES)('switching, step %s: the step is shown, the icon says switching, moves wait', (step) => {
    const current = { switchId: 'sw-9', from: 'host', to: 'win11', requestedBy: 'shortcut' as const, startedAt: '2026-12-01T20:00:00Z', step: { name: step, detail: 'x', startedAt: '2026-12-01T20:00:01Z' }, steps: [] };
    const m = model(desk({ gpus: [gpu('gpu-a', '0000:01:00.0', { busy: true, current })] }));
    expect(m.icon).toBe('switching');
    const progress = actions(m.items).find((a) => a.action.type === 'open-window' && a.action.switchId === 'sw-9');
    expect(progress?.label).toMatch(new RegExp(`^Moving to win11: .+…$`));
    expect(progress?.label).not.toContain('waiting');
    expect(actions(m.items).filter((a) => a.action.type === 'switch').every((a) => !a.enabled)).toBe(true);
    expect(m.tooltip).toBe('Baton: gpu-a → win11');
  });

  it('every step has its own words', () => {
    const words = STEP_NAMES.map((step) => {
      const current = { switchId: 's', from: 'host', to: 'win11', requestedBy: 'tray' as const, startedAt: 'x', step: { name: step, detail: '', startedAt: 'x' }, steps: [] };
      return actions(model(desk({ gpus: [gpu('gpu-a', '0000:01:00.0', { busy: true, current })] })).items)[0]?.label;
    });
    expect(new Set(words).size).toBe(STEP_NAMES.length);
  });

  it.each([
    ['rolled-back', 'host', /Last move to win11 failed while resetting: FLR timed out; now with the host/],
    ['parked', 'park', /Last move to win11 failed while resetting: FLR timed out; now parked/],
    ['failed', 'win11', /Last move to win11 failed while resetting: FLR timed out; now with win11/],
  ] as const)('failed (%s): the step, the reason and where the GPU ended; icon error', (outcome, finalOwner, text) => {
    const last = { switchId: 'sw-3', from: 'host', to: 'win11', requestedBy: 'tray' as const, outcome, startedAt: 'a', endedAt: 'b', durationMs: 10, finalOwner, error: 'FLR timed out', failedStep: 'reset', rolledBack: [] };
    const m = model(desk({ gpus: [gpu('gpu-a', '0000:01:00.0', { owner: finalOwner, last })] }));
    expect(m.icon).toBe('error');
    const item = actions(m.items).find((a) => a.action.type === 'open-window' && a.action.switchId === 'sw-3');
    expect(item?.label).toMatch(text);
  });

  it('a success or a superseded request after a failure is no error', () => {
    for (const outcome of ['succeeded', 'superseded'] as const) {
      const last = { switchId: 's', from: 'host', to: 'win11', requestedBy: 'tray' as const, outcome, startedAt: 'a', endedAt: 'b', durationMs: 1, finalOwner: 'win11', failedStep: null, rolledBack: [] };
      const m = model(desk({ gpus: [gpu('gpu-a', '0000:01:00.0', { owner: 'win11', last })] }));
      expect(m.icon).toBe('idle');
      expect(labels(m.items).some((l) => l.includes('failed'))).toBe(false);
    }
  });

  it('helper down: says so, says how to start it, offers to retry; no switch items', () => {
    const m = model(desk(), { kind: 'helper-down', message: 'nothing listens on /run/baton/helper.sock' });
    expect(m.icon).toBe('error');
    expect(labels(m.items)).toEqual(expect.arrayContaining(['The Baton helper is not running', 'Start it: sudo systemctl enable --now baton-helper.socket']));
    expect(actions(m.items).map((a) => a.action.type)).toEqual(['reconnect', 'open-window', 'quit']);
  });

  it('not allowed: says to join the group and log in again', () => {
    const m = model(null, { kind: 'not-allowed', message: 'permission denied on /run/baton/helper.sock' });
    expect(m.icon).toBe('error');
    expect(labels(m.items)).toContain('Join the group: sudo usermod -aG baton $USER, then log out and in again');
    expect(m.tooltip).toBe('Baton: You may not use the Baton helper');
  });

  it('connecting: no error icon yet', () => {
    expect(model(null, { kind: 'connecting', attempt: 0 }).icon).toBe('idle');
  });

  it('a GPU missing from the bus cannot be moved', () => {
    const m = model(desk({ gpus: [gpu('gpu-a', '0000:01:00.0', { present: false, address: null })] }));
    expect(labels(m.items)).toContain('gpu-a (not found on the bus): with the host');
    expect(actions(m.items).filter((a) => a.action.type === 'switch').every((a) => !a.enabled)).toBe(true);
  });

  it('action ids round-trip; anything else is no action', () => {
    const a: TrayAction = { type: 'switch', gpu: 'gpu-a', target: 'park' };
    expect(parseActionId(actionId(a))).toEqual(a);
    expect(parseActionId('not json')).toBeNull();
    expect(parseActionId('42')).toBeNull();
  });
});

describe('TrayController', () => {
  function fakeTray() {
    const calls: { icon: string[]; menus: TrayMenuItem[][]; click?: (id: string) => void } = { icon: [], menus: [] };
    const port: TrayPort = {
      setIcon: (i) => void calls.icon.push(i),
      setToolTip: () => {},
      setMenu: (items, onAction) => {
        calls.menus.push(items);
        calls.click = onAction;
      },
      destroy: () => {},
    };
    return { port, calls };
  }

  it('rebuilds the menu and icon on every change, in the panel theme, and turns clicks into actions', () => {
    const { port, calls } = fakeTray();
    const seen: TrayAction[] = [];
    const c = new TrayController({ tray: port, socketPath: '/s', group: 'baton', panel: 'light', onAction: (a) => seen.push(a) });
    c.setConnection({ kind: 'connected' });
    c.setDesk(desk());
    c.setConnection({ kind: 'helper-down', message: 'gone' });
    c.setPanel('dark');
    expect(calls.icon).toEqual(['idle-light', 'idle-light', 'idle-light', 'error-light', 'error-dark']);
    expect(calls.menus).toHaveLength(5);
    c.setConnection({ kind: 'connected' });
    const move = flat(calls.menus.at(-1) ?? []).find((i) => i.kind === 'action' && i.label === 'Park (vfio-pci, no owner)');
    if (move?.kind !== 'action') throw new Error('no park item');
    calls.click?.(move.id);
    calls.click?.('garbage');
    expect(seen).toEqual([{ type: 'switch', gpu: 'gpu-a', target: 'park' }]);
  });

  it('names the group the helper\'s config names when it later refuses us', () => {
    const { port, calls } = fakeTray();
    const c = new TrayController({ tray: port, socketPath: '/s', group: 'baton', panel: 'light', onAction: () => {} });
    c.setDesk(desk({ config: { file: null, effective: { helper: { group: 'gpu-users' } }, shortcuts: [], findings: [] } }));
    c.setConnection({ kind: 'not-allowed', message: 'permission denied on /s' });
    expect(labels(calls.menus.at(-1) ?? [])).toContain('Join the group: sudo usermod -aG gpu-users $USER, then log out and in again');
  });
});
