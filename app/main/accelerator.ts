// Config chords ("Super+Alt+1", checked by app/domain/config/fields.ts) as Electron accelerators.
// The config allows a few keys Electron cannot bind; those are reported, not guessed.
import { keyParts } from '../domain/config/fields.js';

const MODIFIERS: Record<string, string | null> = {
  super: 'Super',
  meta: 'Super',
  ctrl: 'Ctrl',
  control: 'Ctrl',
  commandorcontrol: 'CmdOrCtrl',
  cmdorctrl: 'CmdOrCtrl',
  alt: 'Alt',
  altgr: 'AltGr',
  shift: 'Shift',
  hyper: null,
};

const NAMED_KEYS: Record<string, string | null> = {
  space: 'Space',
  tab: 'Tab',
  escape: 'Escape',
  enter: 'Enter',
  return: 'Return',
  home: 'Home',
  end: 'End',
  pageup: 'PageUp',
  pagedown: 'PageDown',
  insert: 'Insert',
  delete: 'Delete',
  up: 'Up',
  down: 'Down',
  left: 'Left',
  right: 'Right',
  plus: 'Plus',
  minus: '-',
  backspace: 'Backspace',
  printscreen: 'PrintScreen',
  scrolllock: 'Scrolllock',
  pause: null,
};

export type AcceleratorResult = { ok: true; accelerator: string } | { ok: false; message: string };

export function toAccelerator(keys: string): AcceleratorResult {
  const parts = keyParts(keys);
  const key = parts.pop() ?? '';
  const modifiers: string[] = [];
  for (const m of parts) {
    const mapped = MODIFIERS[m.toLowerCase()];
    if (mapped === undefined) return { ok: false, message: `${JSON.stringify(m)} is not a modifier` };
    if (mapped === null) return { ok: false, message: `${m} cannot be bound by Electron's global shortcuts; use Super, Ctrl, Alt, AltGr or Shift` };
    if (!modifiers.includes(mapped)) modifiers.push(mapped);
  }
  if (!modifiers.length) return { ok: false, message: `${JSON.stringify(keys)} needs a modifier` };
  let mappedKey: string | null | undefined;
  if (/^[A-Za-z0-9]$/.test(key)) mappedKey = key.toUpperCase();
  else if (/^F([1-9]|1[0-9]|2[0-4])$/i.test(key)) mappedKey = key.toUpperCase();
  else mappedKey = NAMED_KEYS[key.toLowerCase()];
  if (mappedKey === undefined) return { ok: false, message: `${JSON.stringify(key)} is not a key Electron knows` };
  if (mappedKey === null) return { ok: false, message: `${key} cannot be bound by Electron's global shortcuts` };
  return { ok: true, accelerator: [...modifiers, mappedKey].join('+') };
}

/** The display session, from the environment the app was started in. */
export function sessionType(env: Record<string, string | undefined>): 'x11' | 'wayland' | 'unknown' {
  const type = env.XDG_SESSION_TYPE?.toLowerCase();
  if (type === 'wayland' || (type === undefined && env.WAYLAND_DISPLAY)) return 'wayland';
  if (type === 'x11' || (type === undefined && env.DISPLAY)) return 'x11';
  return 'unknown';
}
