// One run reports every problem in the file, sorted by position, not just the first.
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';
import { errorAt, fixture } from './fixture.js';

describe('a file with several mistakes', () => {
  it('reports all of them, in file order', () => {
    const { text, file } = fixture('many-errors.yaml');
    const result = parseConfig(text, file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatConfigError)).toEqual([
      errorAt(file, text, 'sometimes', 'gpus[0].reset: "sometimes" is not one of: auto, flr, pm, bus, device_specific, hot_reset'),
      errorAt(file, text, 'gpu0', 'gpus[1].name: duplicate GPU name "gpu0" (first used at gpus[0].name)', 1),
      errorAt(file, text, '2204', 'gpus[1].match.device: 2204 was read as a number; quote the id so it stays hex (for example "2204")'),
      errorAt(file, text, 'roms/gpu.rom', 'gpus[1].vbios.file: "roms/gpu.rom" is not an absolute path (it must start with /)'),
      errorAt(file, text, 'park', 'vms[0].name: "park" is reserved (it names a target that is not a VM); choose another name'),
      errorAt(file, text, 'start', 'vms[1].acquire: acquire: start expects the VM to be stopped while it has no GPU, but release: hot-unplug leaves it running; use release: shutdown, or acquire: hot-plug'),
      errorAt(file, text, 'start', 'vms[1].acquire: acquire: start with backend qmp needs start: { argv: [...] }, the command that launches the VM'),
      errorAt(file, text, 'gpu9', 'monitors[0].gpu: unknown GPU "gpu9" (known: gpu0)'),
      errorAt(file, text, 'linux', 'monitors[0].ddc.inputs.linux: unknown target "linux" (expected host or a VM: win)'),
      errorAt(file, text, 'win10', 'shortcuts[0].target: unknown target "win10" (expected host, park, cycle or a VM: win)'),
      errorAt(file, text, 'colour', 'shortcuts[0].colour: unknown field "colour" (expected one of: keys, gpu, target)'),
    ]);
  });

  it('gives each error its file, position, path and message separately', () => {
    const { text, file } = fixture('many-errors.yaml');
    const result = parseConfig(text, file);
    if (result.ok) throw new Error('expected errors');
    expect(result.errors[0]).toEqual({ file, line: 5, col: 12, path: 'gpus[0].reset', message: expect.stringContaining('"sometimes"') });
    expect(result.errors.every((e) => e.path !== '' && e.line > 0 && e.col > 0)).toBe(true);
  });
});
