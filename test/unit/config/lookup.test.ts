// Lookups the helper and clients use on a checked config.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  connectorsOfGpu,
  ddcInputFor,
  findGpu,
  findMonitor,
  findVm,
  parseConfig,
  resolveTarget,
  shortcutGpu,
  targetNames,
  type BatonConfig,
} from '../../../app/domain/config/index.js';

function example(): BatonConfig {
  const path = fileURLToPath(new URL('../../../assets/baton.example.yaml', import.meta.url));
  const result = parseConfig(readFileSync(path, 'utf8'), path);
  if (!result.ok) throw new Error('example is invalid');
  return result.config;
}

describe('config lookups', () => {
  const config = example();

  it('finds a GPU by name, by address in any spelling, and by a movable peer', () => {
    expect(findGpu(config, 'rtx3090')?.name).toBe('rtx3090');
    expect(findGpu(config, '0000:01:00.0')?.name).toBe('rtx3090');
    expect(findGpu(config, '1:0.1')?.name).toBe('rtx3090');
    expect(findGpu(config, 'titan')).toBeUndefined();
    expect(findGpu(config, '05:00.0')).toBeUndefined();
  });

  it('resolves targets: host, park, a VM, or nothing', () => {
    expect(resolveTarget(config, 'host')).toEqual({ kind: 'host' });
    expect(resolveTarget(config, 'park')).toEqual({ kind: 'park' });
    expect(resolveTarget(config, 'win11')).toMatchObject({ kind: 'vm', vm: { backend: 'qmp' } });
    expect(resolveTarget(config, 'nowhere')).toBeUndefined();
    expect(targetNames(config)).toEqual(['host', 'park', 'win11', 'fedora', 'gaming']);
    expect(findVm(config, 'gaming')).toMatchObject({ domain: 'gaming-hvm' });
  });

  it('finds monitors and their DDC input for a target', () => {
    const left = findMonitor(config, 'card1-DP-1');
    expect(left?.name).toBe('Dell U2720Q (left)');
    expect(findMonitor(config, 'LG 27GL850 (right)')?.connector).toBe('card0-HDMI-A-1');
    expect(left && ddcInputFor(left, 'win11')).toBe(0x0f);
    expect(left && ddcInputFor(left, 'gaming')).toBeUndefined();
    expect(connectorsOfGpu(config, 'rtx3090')).toEqual(['card1-DP-1']);
    expect(connectorsOfGpu(config, 'rx580')).toEqual(['card0-HDMI-A-1']);
  });

  it('gives a shortcut without gpu the only GPU there is', () => {
    const one = parseConfig('gpus:\n  - { name: g, match: { address: "01:00.0" } }\nshortcuts:\n  - { keys: Super+0, target: host }\n', 'f');
    if (!one.ok) throw new Error('invalid');
    const [shortcut] = one.config.shortcuts;
    expect(shortcut && shortcutGpu(one.config, shortcut)?.name).toBe('g');
    const [first] = config.shortcuts;
    expect(first && shortcutGpu(config, first)?.name).toBe('rtx3090');
  });
});
