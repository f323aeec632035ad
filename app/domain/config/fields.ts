// Field-level schemas shared by the config sections: names, paths, PCI and USB-style ids.
// Each carries its own message, so `baton config check` says what a value should look like.
import { z } from 'zod';
import { normalizeDeviceSerial } from '../inventory/serial.js';
import { parsePciAddress, type PciAddress } from '../pci-address.js';

/** Names users type on the command line and in shortcuts: no spaces, no shell metacharacters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const name = z.string().superRefine((value, ctx) => {
  if (!NAME.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(value)} is not a valid name (letters, digits, ".", "_", "-"; up to 64; starting with a letter or digit)`,
    });
  }
});

/** Free text shown to people (monitor names). */
export const label = z.string().min(1);

export const absolutePath = z.string().superRefine((value, ctx) => {
  if (!value.startsWith('/')) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an absolute path (it must start with /)` });
  } else if (value.split('/').includes('..') || value.includes('\0')) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} must not contain ".." or NUL` });
  }
});

export const pciAddress = z.string().transform((value, ctx): PciAddress => {
  const address = parsePciAddress(value);
  if (address) return address;
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a PCI address (expected DDDD:BB:DD.F)` });
  return z.NEVER;
});

const HEX4 = /^(?:0x)?([0-9a-fA-F]{4})$/;

/**
 * A 16-bit PCI id written as 4 hex digits ("10de"). YAML reads an unquoted 2204 as the decimal
 * number 2204 (and 0x2204 as 8708), so a number is refused with a hint to quote it.
 */
export const hexId = z.unknown().transform((value, ctx): string => {
  if (typeof value === 'number') {
    ctx.addIssue({ code: 'custom', message: `${value} was read as a number; quote the id so it stays hex (for example "${String(value).padStart(4, '0')}")` });
    return z.NEVER;
  }
  const m = typeof value === 'string' ? HEX4.exec(value) : null;
  if (m?.[1]) return m[1].toLowerCase();
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value ?? null)} is not a PCI id (expected 4 hex digits, like "10de")` });
  return z.NEVER;
});

const SUBSYSTEM = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/;

/** Subsystem vendor:device, as `lspci -nnv` prints it ("1458:403b"). */
export const subsystemId = z.string().transform((value, ctx): string => {
  if (SUBSYSTEM.test(value)) return value.toLowerCase();
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a subsystem id (expected VVVV:DDDD in hex, like "1458:403b")` });
  return z.NEVER;
});

/** A DRM connector as named in /sys/class/drm: card1-DP-1, card0-HDMI-A-2, card1-eDP-1. */
const CONNECTOR = /^card[0-9]+-[A-Za-z]+(?:-[A-Za-z]+)*-[0-9]+$/;

export const connector = z.string().superRefine((value, ctx) => {
  if (!CONNECTOR.test(value)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a DRM connector (expected a name from /sys/class/drm, like card1-DP-1)` });
  }
});

const MODIFIERS = new Set(['super', 'ctrl', 'control', 'alt', 'altgr', 'shift', 'meta', 'hyper', 'commandorcontrol', 'cmdorctrl']);
const KEY = /^(?:[A-Za-z0-9]|F(?:[1-9]|1[0-9]|2[0-4])|Space|Tab|Escape|Enter|Return|Home|End|PageUp|PageDown|Insert|Delete|Up|Down|Left|Right|Plus|Minus|Backspace|PrintScreen|Pause|ScrollLock)$/i;

/** Splits "Super+Alt+1" into parts; the shape is checked by `shortcutKeys`. */
export function keyParts(keys: string): string[] {
  return keys.split('+').map((k) => k.trim());
}

/** The same chord written in any order or case maps to one string, to find duplicates. */
export function normalizeKeys(keys: string): string {
  const parts = keyParts(keys).map((k) => k.toLowerCase());
  const last = parts.pop() ?? '';
  return [...parts.map((m) => (m === 'control' ? 'ctrl' : m)).sort(), last].join('+');
}

export const shortcutKeys = z.string().superRefine((value, ctx) => {
  const parts = keyParts(value);
  const key = parts.at(-1) ?? '';
  const modifiers = parts.slice(0, -1);
  const bad = modifiers.find((m) => !MODIFIERS.has(m.toLowerCase()));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad)} in ${JSON.stringify(value)} is not a modifier (expected Super, Ctrl, Alt, Shift, AltGr, Meta, Hyper)` });
  } else if (!KEY.test(key)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(key)} in ${JSON.stringify(value)} is not a key (expected a letter, digit, F1-F24 or a named key)` });
  } else if (modifiers.length === 0) {
    // A global shortcut without a modifier would take the key away from every application.
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} needs at least one modifier (for example Super+Alt+${key})` });
  }
});

/**
 * The card's PCI Express Device Serial Number (the "Device Serial Number" line of `lspci -vv`,
 * extended capability 0x0003), normalized to 00-11-22-33-44-55-66-77.
 */
export const deviceSerial = z.string().transform((value, ctx): string => {
  const serial = normalizeDeviceSerial(value);
  if (serial) return serial;
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a PCI Device Serial Number (expected 8 hex bytes as lspci -vv prints them, e.g. 00-11-22-33-44-55-66-77)` });
  return z.NEVER;
});
