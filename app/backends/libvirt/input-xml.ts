// <input type='evdev'> for a relayed input (libvirt domain XML, "Input devices": evdev passthrough,
// libvirt 7.4.0 and later (unverified)). libvirt refuses to hot-plug it: attach-device fails with
// "input device on bus 'none' cannot be hot plugged", though detach-device works
// (libvirt issue 529, gitlab.com/libvirt/libvirt/-/issues/529; the version that fixes it, if any,
// is unverified). So a running libvirt VM takes the input through QMP passed through libvirt's
// monitor (virsh qemu-monitor-command, app/backends/qmp/input-object.ts) and this element is for
// a VM's persistent definition and for detach. See docs/input.md for why the passthrough is sound.
import { escapeXml } from './xml.js';

export interface EvdevInputXmlOptions {
  /** The evdev node of Baton's virtual device. */
  dev: string;
  /** libvirt user alias ("ua-" prefix required). */
  alias?: string;
  /** QEMU's repeat property: off lets the guest repeat keys itself. */
  repeat?: boolean;
}

const EVDEV_NODE = /^\/dev\/input\/(?:event[0-9]{1,5}|by-(?:id|path)\/[A-Za-z0-9_.:@+-]+)$/;
const USER_ALIAS = /^ua-[A-Za-z0-9_-]{1,60}$/;

export class EvdevInputXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvdevInputXmlError';
  }
}

/** "ua-baton-input-kbd": libvirt's user alias for an input by its config name. */
export function evdevInputAlias(inputName: string): string {
  const alias = `ua-baton-input-${inputName}`;
  if (!USER_ALIAS.test(alias)) throw new EvdevInputXmlError(`${JSON.stringify(inputName)} cannot make a libvirt alias`);
  return alias;
}

export function evdevInputXml(o: EvdevInputXmlOptions): string {
  if (!EVDEV_NODE.test(o.dev)) throw new EvdevInputXmlError(`${JSON.stringify(o.dev)} is not an evdev node (/dev/input/eventN)`);
  if (o.alias !== undefined && !USER_ALIAS.test(o.alias)) throw new EvdevInputXmlError(`${JSON.stringify(o.alias)} is not a libvirt user alias (ua-...)`);
  // No grab='all' (that is QEMU's grab_all) and no grabToggle: see input-object.ts.
  const source = `<source dev='${escapeXml(o.dev)}' repeat='${o.repeat ? 'on' : 'off'}'/>`;
  const alias = o.alias === undefined ? '' : `<alias name='${escapeXml(o.alias)}'/>`;
  return `<input type='evdev'>${source}${alias}</input>`;
}
