// The shipped example must always be a valid config, and mean what its comments say.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSummary, findGpu, findVm, formatConfigError, parseConfig } from '../../../app/domain/config/index.js';

const examplePath = fileURLToPath(new URL('../../../assets/baton.example.yaml', import.meta.url));

describe('assets/baton.example.yaml', () => {
  const result = parseConfig(readFileSync(examplePath, 'utf8'), examplePath);

  it('passes validation', () => {
    expect(result.ok ? [] : result.errors.map(formatConfigError)).toEqual([]);
  });

  it('covers two GPUs, all three backends, monitors with DDC inputs and shortcuts', () => {
    if (!result.ok) throw new Error('example is invalid');
    const { config } = result;
    expect(configSummary(config)).toEqual({ gpus: 2, vms: 3, monitors: 2, shortcuts: 5 });
    expect(config.vms.map((v) => v.backend).sort()).toEqual(['libvirt', 'qmp', 'xen']);
    expect(config.monitors.every((m) => m.ddc !== undefined)).toBe(true);
  });

  it('matches the second GPU by normalized ids and the first by address', () => {
    if (!result.ok) throw new Error('example is invalid');
    expect(findGpu(result.config, 'rx580')?.match).toEqual({ by: 'ids', vendor: '1002', device: '67df', subsystem: '1da2:e387' });
    expect(findGpu(result.config, '01:00.0')?.name).toBe('rtx3090');
    expect(findVm(result.config, 'fedora')).toMatchObject({ backend: 'libvirt', domain: 'fedora39', release: { method: 'shutdown', timeoutSeconds: 120 } });
  });
});
