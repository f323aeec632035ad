// Values of the wrong type or shape: each error names the field and sits on the offending node.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';
import { errorAt, fixture } from './fixture.js';

function errorLines(text: string, file: string): string[] {
  const result = parseConfig(text, file);
  return result.ok ? [] : result.errors.map(formatConfigError);
}

describe('schema errors', () => {
  it('reports every wrong type in the file', () => {
    const { text, file } = fixture('wrong-types.yaml');
    expect(errorLines(text, file)).toEqual([
      errorAt(file, text, '"yes"', 'gpus[0].allowBootVga: expected true or false, got "yes"'),
      errorAt(file, text, '"0000:01:00.1"', 'gpus[0].movablePeers: expected a list, got "0000:01:00.1"'),
      errorAt(file, text, 'soon', 'vms[0].release.timeoutSeconds: expected a number, got "soon"'),
    ]);
  });

  it('lists the allowed backends for an unknown one', () => {
    const { text, file } = fixture('unknown-backend.yaml');
    expect(errorLines(text, file)).toEqual([
      errorAt(file, text, 'virtualbox', 'vms[1].backend: unknown backend "virtualbox" (expected one of: qmp, libvirt, xen)'),
    ]);
  });

  it('explains a PCI address that is not one', () => {
    const { text, file } = fixture('bad-address.yaml');
    expect(errorLines(text, file)).toEqual([
      errorAt(file, text, '"01:00"', 'gpus[0].match.address: "01:00" is not a PCI address (expected DDDD:BB:DD.F)'),
    ]);
  });

  it('points at a misspelt key and suggests the right one', () => {
    const text = 'gpus:\n  - name: g\n    match: { address: "01:00.0" }\n    rest: flr\n';
    expect(errorLines(text, 'f.yaml')).toEqual([errorAt('f.yaml', text, 'rest', 'gpus[0].rest: unknown field "rest" (did you mean "reset"?)')]);
  });

  it('asks for quotes around an id YAML read as a number', () => {
    const text = 'gpus:\n  - name: g\n    match: { vendor: "10de", device: 2204 }\n';
    expect(errorLines(text, 'f.yaml')).toEqual([
      errorAt('f.yaml', text, '2204', 'gpus[0].match.device: 2204 was read as a number; quote the id so it stays hex (for example "2204")'),
    ]);
  });

  it('refuses ids that are not 4 hex digits, and a match with both address and ids', () => {
    const text = 'gpus:\n  - name: g\n    match: { vendor: "10dex", device: "22" }\n  - name: h\n    match: { address: "01:00.0", vendor: "10de" }\n';
    expect(errorLines(text, 'f.yaml')).toEqual([
      errorAt('f.yaml', text, '"10dex"', 'gpus[0].match.vendor: "10dex" is not a PCI id (expected 4 hex digits, like "10de")'),
      errorAt('f.yaml', text, '"22"', 'gpus[0].match.device: "22" is not a PCI id (expected 4 hex digits, like "10de")'),
      errorAt('f.yaml', text, '{ address', 'gpus[1].match: use either address or vendor/device ids, not both'),
    ]);
  });

  it('reports a missing required field on its parent mapping', () => {
    const text = 'vms:\n  - name: w\n    backend: qmp\n';
    expect(errorLines(text, 'f.yaml')).toEqual([errorAt('f.yaml', text, 'name: w', 'vms[0].socket: is required')]);
  });

  it('requires absolute paths and an argv list rather than a shell string', () => {
    const text = 'vms:\n  - name: w\n    backend: qmp\n    socket: run/w.qmp\n    start: "qemu-system-x86_64 -m 8G"\n';
    expect(errorLines(text, 'f.yaml')).toEqual([
      errorAt('f.yaml', text, 'run/w.qmp', 'vms[0].socket: "run/w.qmp" is not an absolute path (it must start with /)'),
      errorAt('f.yaml', text, '"qemu', 'vms[0].start: expected { argv: [program, arg, ...] }, not a shell command string'),
    ]);
  });

  it('requires argv[0] to be an absolute program path', () => {
    const text = 'vms:\n  - name: w\n    backend: qmp\n    socket: /run/w.qmp\n    start: { argv: [qemu-system-x86_64, -m, 8G] }\n';
    expect(errorLines(text, 'f.yaml')).toEqual([
      errorAt('f.yaml', text, 'qemu-system', 'vms[0].start.argv[0]: "qemu-system-x86_64" must be an absolute path to the program'),
    ]);
  });

  it('lists allowed values for enums and checks connectors and shortcut keys', () => {
    const text = [
      'gpus:',
      '  - { name: g, match: { address: "01:00.0" }, reset: warm }',
      'monitors:',
      '  - { connector: DP-1, name: M }',
      'shortcuts:',
      '  - { keys: Supr+1, target: host }',
    ].join('\n');
    expect(errorLines(text, 'f.yaml')).toEqual([
      errorAt('f.yaml', text, 'warm', 'gpus[0].reset: "warm" is not one of: auto, flr, pm, bus, device_specific, hot_reset'),
      errorAt('f.yaml', text, 'DP-1', 'monitors[0].connector: "DP-1" is not a DRM connector (expected a name from /sys/class/drm, like card1-DP-1)'),
      errorAt('f.yaml', text, 'Supr+1', 'shortcuts[0].keys: "Supr" in "Supr+1" is not a modifier (expected Super, Ctrl, Alt, Shift, AltGr, Meta, Hyper)'),
    ]);
  });
});

describe('schema errors in monitors and helper', () => {
  it('explains a DDC bus that is neither a number nor /dev/i2c-N', () => {
    const text = 'monitors:\n  - { connector: card1-DP-1, name: M, ddc: { bus: i2c, inputs: { host: 15 } } }\n';
    const result = parseConfig(text, 'f.yaml');
    expect(result.ok ? [] : result.errors.map(formatConfigError)).toEqual([
      errorAt('f.yaml', text, 'i2c', 'monitors[0].ddc.bus: expected an i2c bus number or /dev/i2c-N'),
    ]);
  });
});
