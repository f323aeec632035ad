// Rules across entries: duplicates, reserved names, references, release/acquire combinations.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';
import { errorAt, fixture } from './fixture.js';

function errorLines(text: string, file = 'f.yaml'): string[] {
  const result = parseConfig(text, file);
  return result.ok ? [] : result.errors.map(formatConfigError);
}

describe('cross-field checks', () => {
  it('reports a duplicate GPU name, and the same address written two ways', () => {
    const { text, file } = fixture('duplicate-gpu.yaml');
    expect(errorLines(text, file)).toEqual([
      errorAt(file, text, 'nvidia', 'gpus[1].name: duplicate GPU name "nvidia" (first used at gpus[0].name)', 1),
      errorAt(file, text, '"01:00.0"', 'gpus[1].match.address: 0000:01:00.0 is already used by gpus[0].match.address; each device belongs to one GPU entry'),
    ]);
  });

  it('reports a movable peer that another GPU already claims', () => {
    const text = 'gpus:\n  - { name: a, match: { address: "01:00.0" }, movablePeers: ["01:00.1"] }\n  - { name: b, match: { address: "01:00.1" } }\n';
    expect(errorLines(text)).toEqual([
      errorAt('f.yaml', text, '"01:00.1"', 'gpus[1].match.address: 0000:01:00.1 is already used by gpus[0].movablePeers[0]; each device belongs to one GPU entry', 1),
    ]);
  });

  it('reports two GPUs matched by identical ids', () => {
    const text = 'gpus:\n  - { name: a, match: { vendor: "10de", device: "2204" } }\n  - { name: b, match: { vendor: "10DE", device: "2204" } }\n';
    expect(errorLines(text)).toEqual([
      errorAt('f.yaml', text, '{ vendor', 'gpus[1].match: matches the same ids as gpus[0].match; add serial, or match by address, to tell the cards apart', 1),
    ]);
  });

  it('reports duplicate VM names and the reserved names host and park', () => {
    const text = 'vms:\n  - { name: host, backend: xen }\n  - { name: w, backend: xen, domain: w1 }\n  - { name: w, backend: xen, domain: w2 }\n  - { name: park, backend: xen }\n';
    expect(errorLines(text)).toEqual([
      errorAt('f.yaml', text, 'host', 'vms[0].name: "host" is reserved (it names a target that is not a VM); choose another name'),
      errorAt('f.yaml', text, 'w,', 'vms[2].name: duplicate VM name "w" (first used at vms[1].name)', 1),
      errorAt('f.yaml', text, 'park', 'vms[3].name: "park" is reserved (it names a target that is not a VM); choose another name'),
    ]);
  });

  it('reports two VMs that are the same machine', () => {
    const text = 'vms:\n  - { name: a, backend: qmp, socket: /run/q.qmp }\n  - { name: b, backend: qmp, socket: /run/q.qmp }\n';
    expect(errorLines(text)).toEqual([errorAt('f.yaml', text, '/run/q.qmp', 'vms[1].socket: the same QMP socket as vms[0].socket', 1)]);
  });

  it('reports references to unknown GPUs, VMs and DDC targets', () => {
    const text = [
      'gpus:',
      '  - { name: g1, match: { address: "01:00.0" } }',
      '  - { name: g2, match: { address: "02:00.0" } }',
      'vms:',
      '  - { name: win, backend: xen }',
      'monitors:',
      '  - { connector: card1-DP-1, name: M, gpu: g3, ddc: { inputs: { host: 15, linux: 17 } } }',
      'shortcuts:',
      '  - { keys: Super+1, gpu: g4, target: win }',
      '  - { keys: Super+2, target: linux }',
    ].join('\n');
    expect(errorLines(text)).toEqual([
      errorAt('f.yaml', text, 'g3', 'monitors[0].gpu: unknown GPU "g3" (known: g1, g2)'),
      errorAt('f.yaml', text, 'linux', 'monitors[0].ddc.inputs.linux: unknown target "linux" (expected host or a VM: win)'),
      errorAt('f.yaml', text, 'g4', 'shortcuts[0].gpu: unknown GPU "g4" (known: g1, g2)'),
      errorAt('f.yaml', text, '{ keys: Super+2', 'shortcuts[1]: gpu is required when 2 GPUs are configured'),
      errorAt('f.yaml', text, 'linux', 'shortcuts[1].target: unknown target "linux" (expected host, park, cycle or a VM: win)', 1),
    ]);
  });

  it('reports a monitor placed on two different GPUs, and duplicate shortcut chords', () => {
    const text = [
      'gpus:',
      '  - { name: g1, match: { address: "01:00.0" }, monitors: [card1-DP-1] }',
      'monitors:',
      '  - { connector: card1-DP-1, name: M, gpu: g2 }',
      'shortcuts:',
      '  - { keys: Super+Alt+1, target: host }',
      '  - { keys: alt+super+1, target: park }',
    ].join('\n');
    expect(errorLines(text)).toEqual([
      errorAt('f.yaml', text, 'g2', 'monitors[0].gpu: unknown GPU "g2" (known: g1)'),
      errorAt('f.yaml', text, 'g2', 'monitors[0].gpu: "card1-DP-1" is listed under GPU "g1", not "g2"'),
      errorAt('f.yaml', text, 'alt+super+1', 'shortcuts[1].keys: "alt+super+1" is already bound at shortcuts[0].keys'),
    ]);
  });

  it('refuses release/acquire combinations that cannot work', () => {
    const text = [
      'vms:',
      '  - { name: a, backend: qmp, socket: /run/a.qmp, acquire: start }',
      '  - { name: b, backend: libvirt, release: force-detach }',
      '  - { name: c, backend: xen, release: { method: hot-unplug }, acquire: start }',
    ].join('\n');
    expect(errorLines(text)).toEqual([
      errorAt('f.yaml', text, 'start', 'vms[0].acquire: acquire: start expects the VM to be stopped while it has no GPU, but release: hot-unplug leaves it running; use release: shutdown, or acquire: hot-plug'),
      errorAt('f.yaml', text, 'start', 'vms[0].acquire: acquire: start with backend qmp needs start: { argv: [...] }, the command that launches the VM'),
      errorAt('f.yaml', text, 'force-detach', 'vms[1].release: force-detach needs backend xen (xl pci-detach -f); with libvirt use hot-unplug or shutdown'),
      errorAt('f.yaml', text, 'hot-unplug', 'vms[2].release.method: acquire: start expects the VM to be stopped while it has no GPU, but release: hot-unplug leaves it running; use release: shutdown, or acquire: hot-plug'),
    ]);
  });
});
