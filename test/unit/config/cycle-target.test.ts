// The shortcut target "cycle" (the tray app moves the GPU on to its next target): accepted in
// shortcuts, and no VM may take the name.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';

const base = 'gpus:\n  - { name: a, match: { address: "01:00.0" } }\nvms:\n  - { name: win, backend: qmp, socket: /run/win.qmp }\n';

describe('shortcut target cycle', () => {
  it('is accepted as a shortcut target', () => {
    const r = parseConfig(`${base}shortcuts:\n  - { keys: Super+Alt+C, gpu: a, target: cycle }\n`, 'f.yaml');
    expect(r.ok && r.config.shortcuts).toEqual([{ keys: 'Super+Alt+C', gpu: 'a', target: 'cycle' }]);
  });

  it('is a name no VM may take', () => {
    const r = parseConfig('vms:\n  - { name: cycle, backend: qmp, socket: /run/c.qmp }\n', 'f.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatConfigError).join('\n')).toMatch(/vms\[0\]\.name: "cycle" is reserved/);
  });

  it('a misspelt target names cycle among the choices', () => {
    const r = parseConfig(`${base}shortcuts:\n  - { keys: Super+Alt+C, gpu: a, target: cylce }\n`, 'f.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatConfigError).join('\n')).toMatch(/unknown target "cylce" \(expected host, park, cycle or a VM: win\)/);
  });
});
