// QMP commands that give a running QEMU one relayed input device and take it back: an
// `input-linux` object (ui/input-linux.c) on the virtual device's evdev node. It is a backend
// object, not a guest device: QEMU opens the node, grabs it, and feeds its events to the guest's
// keyboard and mouse (PS/2, USB or virtio), so no guest PCI or USB hot-plug is involved.
// QEMU 6.0 and later take object-add's properties flat beside qom-type and id (QAPI ObjectOptions).

/** QEMU object ids: a letter, then letters, digits, "-", "." or "_" (qemu_opts_id_wellformed). */
const QEMU_ID = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
/** The evdev node Baton's relay created (/dev/input/eventN), or a udev link to one. */
const EVDEV_NODE = /^\/dev\/input\/(?:event[0-9]{1,5}|by-(?:id|path)\/[A-Za-z0-9_.:@+-]+)$/;

export class InputObjectRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputObjectRequestError';
  }
}

/** "baton-input-kbd": the object id for an input by its config name (names may start with a digit). */
export function inputObjectId(inputName: string): string {
  const id = `baton-input-${inputName}`;
  if (!QEMU_ID.test(id)) throw new InputObjectRequestError(`${JSON.stringify(inputName)} cannot make a QEMU object id`);
  return id;
}

export interface InputLinuxOptions {
  id: string;
  evdev: string;
  /**
   * Let QEMU pass autorepeat (value 2) events on. Off: QEMU drops them and the guest repeats keys
   * itself, as it does for a real USB keyboard (USB HID sends no repeats).
   */
  repeat?: boolean;
  /** QEMU's own grab toggle (grab-toggle); see grabToggleFor. Left out: QEMU's default, ctrl-ctrl. */
  grabToggle?: GrabToggle;
}

/** QAPI GrabToggleKeys: the key pairs QEMU's input-linux watches to hand its device back to the host. */
export const GRAB_TOGGLES = {
  'ctrl-ctrl': ['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'],
  'alt-alt': ['KEY_LEFTALT', 'KEY_RIGHTALT'],
  'shift-shift': ['KEY_LEFTSHIFT', 'KEY_RIGHTSHIFT'],
  'meta-meta': ['KEY_LEFTMETA', 'KEY_RIGHTMETA'],
  scrolllock: ['KEY_SCROLLLOCK'],
  'ctrl-scrolllock': ['KEY_LEFTCTRL', 'KEY_SCROLLLOCK'],
} as const;
export type GrabToggle = keyof typeof GRAB_TOGGLES;

/**
 * The grab toggle to give QEMU for a return chord: the one made of exactly the chord's keys. The
 * relay swallows those whenever all are down (that is the chord), so QEMU never sees the toggle and
 * never lets the twin go to the host's readers. A toggle that is only part of the chord is not
 * safe: its keys pass to the guest when the rest of the chord is not pressed. null when none
 * matches: then QEMU's toggle can fire (the udev rule in docs/input.md keeps the host desktop
 * from reading a released twin).
 */
export function grabToggleFor(chordKeys: readonly string[]): GrabToggle | null {
  const found = (Object.entries(GRAB_TOGGLES) as [GrabToggle, readonly string[]][]).find(([, keys]) => keys.length === new Set(chordKeys).size && keys.every((k) => chordKeys.includes(k)));
  return found ? found[0] : null;
}

export interface QmpCommand {
  execute: string;
  arguments: Record<string, unknown>;
}

export function inputLinuxAdd(o: InputLinuxOptions): QmpCommand {
  if (!QEMU_ID.test(o.id)) throw new InputObjectRequestError(`${JSON.stringify(o.id)} is not a QEMU object id`);
  if (!EVDEV_NODE.test(o.evdev)) throw new InputObjectRequestError(`${JSON.stringify(o.evdev)} is not an evdev node (/dev/input/eventN)`);
  return {
    execute: 'object-add',
    arguments: {
      'qom-type': 'input-linux',
      id: o.id,
      evdev: o.evdev,
      // grab_all would also grab QEMU's other input-linux devices when its grab toggles; each of
      // ours stands alone. QEMU's own grab toggle (default ctrl-ctrl) never sees our chord: the relay
      // swallows it. A different configured chord leaves ctrl-ctrl to reach QEMU: see docs/input.md.
      grab_all: false,
      repeat: o.repeat ?? false,
      ...(o.grabToggle !== undefined && { 'grab-toggle': o.grabToggle }),
    },
  };
}

export function inputLinuxDel(id: string): QmpCommand {
  if (!QEMU_ID.test(id)) throw new InputObjectRequestError(`${JSON.stringify(id)} is not a QEMU object id`);
  return { execute: 'object-del', arguments: { id } };
}
