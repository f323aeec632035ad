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
    },
  };
}

export function inputLinuxDel(id: string): QmpCommand {
  if (!QEMU_ID.test(id)) throw new InputObjectRequestError(`${JSON.stringify(id)} is not a QEMU object id`);
  return { execute: 'object-del', arguments: { id } };
}
