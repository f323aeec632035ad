import { describe, expect, it } from 'vitest';
import { evdevInputAlias, evdevInputXml, EvdevInputXmlError } from '../../../../app/backends/libvirt/input-xml.js';
import { child, parseXml } from '../../../../app/backends/libvirt/xml.js';

describe('<input type=evdev>', () => {
  it('is well-formed XML naming the device, repeat and alias', () => {
    const xml = evdevInputXml({ dev: '/dev/input/event17', alias: evdevInputAlias('kbd') });
    const root = parseXml(xml);
    expect(root.name).toBe('input');
    expect(root.attributes).toEqual({ type: 'evdev' });
    expect(child(root, 'source')?.attributes).toEqual({ dev: '/dev/input/event17', repeat: 'off' });
    expect(child(root, 'alias')?.attributes).toEqual({ name: 'ua-baton-input-kbd' });
  });

  it('takes a udev by-id link, and repeat on', () => {
    const root = parseXml(evdevInputXml({ dev: '/dev/input/by-id/usb-Foo_Bar-event-kbd', repeat: true }));
    expect(child(root, 'source')?.attributes).toEqual({ dev: '/dev/input/by-id/usb-Foo_Bar-event-kbd', repeat: 'on' });
    expect(child(root, 'alias')).toBeUndefined();
  });

  it.each(["/dev/input/event1'/><x", '/dev/input/../../etc/passwd', '/dev/input/mice'])('refuses %j rather than escape it into the XML', (dev) => {
    expect(() => evdevInputXml({ dev })).toThrow(EvdevInputXmlError);
  });

  it('refuses an alias without libvirt\'s ua- prefix', () => {
    expect(() => evdevInputXml({ dev: '/dev/input/event1', alias: 'baton-kbd' })).toThrow(/user alias/);
  });
});
