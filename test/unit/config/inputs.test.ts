// inputs: devices by stable evdev path, which GPU each follows, and the return chord.
import { describe, expect, it } from 'vitest';
import { formatConfigError, inputsOfGpu, parseConfig } from '../../../app/domain/config/index.js';
import { errorAt } from './fixture.js';

const KBD = '/dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd';
const MOUSE = '/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse';
const gpus = 'gpus:\n  - { name: a, match: { address: "01:00.0" } }\n';

function errors(text: string): string[] {
  const r = parseConfig(text, 'f.yaml');
  return r.ok ? [] : r.errors.map(formatConfigError);
}

describe('inputs', () => {
  it('defaults to no inputs and the both-Ctrl chord moving the GPU home', () => {
    const r = parseConfig(gpus, 'f.yaml');
    expect(r.ok && r.config.inputs).toEqual({ devices: [], follow: [], returnChord: { keys: ['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'], action: 'host' } });
  });

  it('reads devices, a global follow list and a chord', () => {
    const text = `${gpus}inputs:\n  devices:\n    - { name: kbd, path: ${KBD} }\n    - { name: mouse, path: ${MOUSE} }\n  follow: [kbd, mouse]\n  returnChord: { keys: [KEY_LEFTCTRL, KEY_LEFTALT, KEY_SCROLLLOCK], action: cycle }\n`;
    const r = parseConfig(text, 'f.yaml');
    expect(r.ok ? [] : r.errors.map(formatConfigError)).toEqual([]);
    if (!r.ok) return;
    expect(inputsOfGpu(r.config, 'a').map((d) => d.name)).toEqual(['kbd', 'mouse']);
    expect(r.config.inputs.returnChord).toEqual({ keys: ['KEY_LEFTCTRL', 'KEY_LEFTALT', 'KEY_SCROLLLOCK'], action: 'cycle' });
  });

  it('a GPU\'s own list wins over the global one', () => {
    const text = 'gpus:\n  - { name: a, match: { address: "01:00.0" }, inputs: [kbd] }\n  - { name: b, match: { address: "02:00.0" } }\n'
      + `inputs:\n  devices:\n    - { name: kbd, path: ${KBD} }\n    - { name: mouse, path: ${MOUSE} }\n  follow: [mouse]\n`;
    const r = parseConfig(text, 'f.yaml');
    if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
    expect(inputsOfGpu(r.config, 'a').map((d) => d.name)).toEqual(['kbd']);
    expect(inputsOfGpu(r.config, 'b').map((d) => d.name)).toEqual(['mouse']);
  });

  it.each([
    ['dev/input/by-id/x-event-kbd', 'is not an absolute path'],
    ['/dev/input/by-id/../event3', 'must not contain ".."'],
    ['/dev/input/event3', 'is not a stable input path'],
    ['/dev/input/by-id/sub/x-event-kbd', 'is not a stable input path'],
    ['/dev/input/by-id/usb-Logitech_USB_Receiver-mouse', 'is not an evdev link'],
  ])('refuses the path %s at its position', (path, message) => {
    const text = `inputs:\n  devices:\n    - name: kbd\n      path: ${path}\n`;
    const [first] = errors(text);
    expect(first).toContain(message);
    expect(first?.startsWith(errorAt('f.yaml', text, path, 'inputs.devices[0].path: ').split(' ')[0] ?? '')).toBe(true);
  });

  it('names an unknown chord key, a duplicated one, and a one-key chord, each where it is', () => {
    const text = 'inputs:\n  returnChord:\n    keys: [KEY_LEFTCTRL, KEY_CTRL]\n';
    expect(errors(text)).toEqual([errorAt('f.yaml', text, 'KEY_CTRL]', 'inputs.returnChord.keys[1]: "KEY_CTRL" is not a key Baton knows (use the kernel\'s names, as evtest prints them: KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_SCROLLLOCK, KEY_F12, ...)')]);
    const twice = 'inputs:\n  returnChord: { keys: [KEY_LEFTCTRL, KEY_LEFTCTRL] }\n';
    expect(errors(twice)).toEqual([errorAt('f.yaml', twice, 'KEY_LEFTCTRL]', 'inputs.returnChord.keys[1]: KEY_LEFTCTRL is listed twice in the chord')]);
    expect(errors('inputs:\n  returnChord: { keys: [KEY_F12] }\n').join('\n')).toMatch(/needs at least two keys/);
    expect(errors('inputs:\n  returnChord: { action: shutdown }\n').join('\n')).toMatch(/inputs\.returnChord\.action/);
  });

  it('reports duplicates, unknown names and an input following two GPUs', () => {
    const text = 'gpus:\n  - { name: a, match: { address: "01:00.0" }, inputs: [kbd, pad] }\n  - { name: b, match: { address: "02:00.0" }, inputs: [kbd] }\n'
      + `inputs:\n  devices:\n    - { name: kbd, path: ${KBD} }\n    - { name: kbd, path: ${KBD} }\n`;
    const all = errors(text).join('\n');
    expect(all).toMatch(/inputs\.devices\[1\]\.name: duplicate input name "kbd" \(first used at inputs\.devices\[0\]\.name\)/);
    expect(all).toMatch(/inputs\.devices\[1\]\.path: duplicate input path/);
    expect(all).toMatch(/gpus\[0\]\.inputs\[1\]: unknown input "pad" \(known: kbd\)/);
    expect(all).toMatch(/gpus\[1\]\.inputs\[0\]: input "kbd" already follows the GPU at gpus\[0\]\.inputs\[0\]; an input follows one GPU/);
  });

  it('refuses a global follow list that would serve two GPUs', () => {
    const text = 'gpus:\n  - { name: a, match: { address: "01:00.0" } }\n  - { name: b, match: { address: "02:00.0" } }\n'
      + `inputs:\n  devices:\n    - { name: kbd, path: ${KBD} }\n  follow: [kbd]\n`;
    expect(errors(text)).toEqual([errorAt('f.yaml', text, 'kbd]', 'inputs.follow[0]: 2 GPUs have no inputs of their own, so "kbd" would follow all of them; list inputs per GPU (gpus[].inputs) instead')]);
  });

  it('an unknown key in inputs is an error, like everywhere else', () => {
    expect(errors('inputs:\n  device: []\n').join('\n')).toMatch(/inputs\.device/);
  });
});
