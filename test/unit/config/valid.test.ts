// A valid config comes back typed, with defaults applied and values normalized.
import { describe, expect, it } from 'vitest';
import { parseConfig, type BatonConfig } from '../../../app/domain/config/index.js';
import { fixture } from './fixture.js';

function parseOk(text: string): BatonConfig {
  const result = parseConfig(text, 'test.yaml');
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.config;
}

describe('parseConfig on valid input', () => {
  it('fills in defaults for everything the minimal config leaves out', () => {
    const { text, file } = fixture('minimal.yaml');
    const result = parseConfig(text, file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result;
    expect(config.version).toBe(1);
    expect(config.helper).toEqual({
      socket: '/run/baton/helper.sock',
      group: 'baton',
      users: [],
      vbiosStore: '/var/lib/baton/vbios',
      journal: '/var/lib/baton/journal.json',
      history: { file: '/var/lib/baton/history.jsonl', maxEntries: 1000 },
    });
    expect(config.gpus[0]).toEqual({
      name: 'gpu0',
      match: { by: 'address', address: '0000:01:00.0' },
      reset: 'auto',
      movablePeers: [],
      allowBootVga: false,
      loadVfioModule: true,
      monitors: [],
    });
    expect(config.vms[0]).toMatchObject({ release: { method: 'hot-unplug', timeoutSeconds: 30 }, acquire: 'hot-plug' });
    expect(config.monitors).toEqual([]);
    expect(config.shortcuts).toEqual([]);
  });

  it('accepts an empty sections-only file', () => {
    expect(parseOk('gpus: []\n').gpus).toEqual([]);
  });

  it('reads release as a bare method name', () => {
    const config = parseOk('vms:\n  - { name: a, backend: xen, release: shutdown, acquire: start }\n');
    expect(config.vms[0]?.release).toEqual({ method: 'shutdown', timeoutSeconds: 30 });
  });

  it('defaults the libvirt and xen domain to the VM name', () => {
    const config = parseOk('vms:\n  - { name: a, backend: libvirt }\n  - { name: b, backend: xen }\n');
    expect(config.vms.map((v) => (v.backend === 'qmp' ? null : [v.domain, v.backend === 'libvirt' ? v.uri : '']))).toEqual([
      ['a', 'qemu:///system'],
      ['b', ''],
    ]);
  });

  it('canonicalizes ids and addresses, and turns /dev/i2c-N into a bus number', () => {
    const config = parseOk(
      [
        'gpus:',
        '  - { name: g, match: { vendor: "0x10DE", device: "2204", subsystem: "1458:403B" }, movablePeers: ["1:0.1"] }',
        'monitors:',
        '  - { connector: card1-DP-1, name: M, ddc: { bus: /dev/i2c-7, inputs: { host: 0x0f } } }',
      ].join('\n'),
    );
    expect(config.gpus[0]?.match).toEqual({ by: 'ids', vendor: '10de', device: '2204', subsystem: '1458:403b' });
    expect(config.gpus[0]?.movablePeers).toEqual(['0000:01:00.1']);
    expect(config.monitors[0]?.ddc).toEqual({ bus: 7, inputs: { host: 15 } });
  });

  it('lets a shortcut leave out gpu when only one GPU is configured', () => {
    const config = parseOk('gpus:\n  - { name: g, match: { address: "01:00.0" } }\nshortcuts:\n  - { keys: Super+Alt+0, target: host }\n');
    expect(config.shortcuts[0]).toEqual({ keys: 'Super+Alt+0', target: 'host' });
  });
});
