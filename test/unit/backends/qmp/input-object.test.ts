import { describe, expect, it } from 'vitest';
import { grabToggleFor, inputLinuxAdd, inputLinuxDel, inputObjectId, InputObjectRequestError } from '../../../../app/backends/qmp/input-object.js';

describe('input-linux object-add / object-del', () => {
  it('builds object-add with flat properties, grab_all off and repeat off by default', () => {
    expect(inputLinuxAdd({ id: inputObjectId('kbd'), evdev: '/dev/input/event17' })).toEqual({
      execute: 'object-add',
      arguments: { 'qom-type': 'input-linux', id: 'baton-input-kbd', evdev: '/dev/input/event17', grab_all: false, repeat: false },
    });
    expect(inputLinuxAdd({ id: 'x', evdev: '/dev/input/event1', repeat: true }).arguments.repeat).toBe(true);
  });

  it('builds object-del by id', () => {
    expect(inputLinuxDel('baton-input-kbd')).toEqual({ execute: 'object-del', arguments: { id: 'baton-input-kbd' } });
  });

  it.each(['/dev/input/../sda', '/dev/sda', '/dev/input/event1 ', 'relative/event1', '/dev/input/by-id/a/b'])('refuses the evdev path %j', (evdev) => {
    expect(() => inputLinuxAdd({ id: 'a', evdev })).toThrow(InputObjectRequestError);
  });

  it('refuses ids QEMU would not take', () => {
    expect(() => inputLinuxDel('1abc')).toThrow(/not a QEMU object id/);
    expect(() => inputLinuxAdd({ id: 'a"b', evdev: '/dev/input/event1' })).toThrow(/not a QEMU object id/);
    expect(inputObjectId('1kbd')).toBe('baton-input-1kbd');
  });

  it('picks the QEMU grab toggle the chord swallows, or none', () => {
    expect(grabToggleFor(['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'])).toBe('ctrl-ctrl');
    expect(grabToggleFor(['KEY_SCROLLLOCK', 'KEY_LEFTCTRL'])).toBe('ctrl-scrolllock');
    // ctrl-ctrl is only part of this chord: both Ctrl keys alone would reach QEMU and toggle.
    expect(grabToggleFor(['KEY_LEFTCTRL', 'KEY_RIGHTCTRL', 'KEY_LEFTALT'])).toBeNull();
    expect(grabToggleFor(['KEY_LEFTMETA', 'KEY_F12'])).toBeNull();
    expect(inputLinuxAdd({ id: 'a', evdev: '/dev/input/event1', grabToggle: 'alt-alt' }).arguments['grab-toggle']).toBe('alt-alt');
    expect(inputLinuxAdd({ id: 'a', evdev: '/dev/input/event1' }).arguments).not.toHaveProperty('grab-toggle');
  });
});
