// Owner states that status shows in place of a VM name (lost, wedged, absent, unknown): no VM may take one.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';

describe('owner-state names', () => {
  for (const name of ['lost', 'wedged', 'absent', 'unknown']) {
    it(`refuses a VM called ${name}, with the reason`, () => {
      const r = parseConfig(`vms:\n  - { name: ok, backend: qmp, socket: /run/ok.qmp }\n  - { name: ${name}, backend: qmp, socket: /run/x.qmp }\n`, 'f.yaml');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.map(formatConfigError).join('\n')).toContain(`vms[1].name: "${name}" is reserved (status shows it as a GPU's owner state: lost, wedged, absent, unknown); choose another name`);
    });
  }
  it('still accepts a name that merely contains one', () => {
    expect(parseConfig('vms:\n  - { name: lost-ark, backend: qmp, socket: /run/l.qmp }\n', 'f.yaml').ok).toBe(true);
  });
});
