// `baton config check`, run in-process with captured output: exit status, stdout, stderr, --json.
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerConfig, runConfigCheck, type ConfigIo } from '../../../app/cli/commands/config.js';
import { loadConfigFile } from '../../../app/host/config/load.js';
import { errorAt, fixture, fixturePath, positionOfText } from './fixture.js';

function capture(): ConfigIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    load: loadConfigFile,
  };
  return io;
}

describe('runConfigCheck', () => {
  it('prints a one-line summary and exits 0 for a valid file', () => {
    const io = capture();
    const file = fixturePath('minimal.yaml');
    expect(runConfigCheck(file, {}, io)).toBe(0);
    expect(io.out).toBe(`${file}: OK: 1 GPU, 1 VM, 0 monitors, 0 shortcuts\n`);
    expect(io.err).toBe('');
  });

  it('prints every error as FILE:LINE:COL on stderr and exits 1', () => {
    const io = capture();
    const { file, text } = fixture('unknown-backend.yaml');
    expect(runConfigCheck(file, {}, io)).toBe(1);
    expect(io.out).toBe('');
    expect(io.err.split('\n')).toEqual([
      errorAt(file, text, 'virtualbox', 'vms[1].backend: unknown backend "virtualbox" (expected one of: qmp, libvirt, xen)'),
      `baton: ${file}: 1 error`,
      '',
    ]);
  });

  it('says plainly that a file is missing, without a stack trace', () => {
    const io = capture();
    expect(runConfigCheck('/nonexistent/baton.yaml', {}, io)).toBe(1);
    expect(io.err).toBe('baton: cannot read /nonexistent/baton.yaml: no such file\n');
  });

  it('prints { ok, errors, summary } with --json', () => {
    const bad = capture();
    const { file, text } = fixture('bad-address.yaml');
    expect(runConfigCheck(file, { json: true }, bad)).toBe(1);
    const { line, col } = positionOfText(text, '"01:00"');
    expect(JSON.parse(bad.out)).toEqual({
      ok: false,
      file,
      errors: [{ file, line, col, path: 'gpus[0].match.address', message: '"01:00" is not a PCI address (expected DDDD:BB:DD.F)' }],
      summary: null,
    });

    const good = capture();
    expect(runConfigCheck(fixturePath('minimal.yaml'), { json: true }, good)).toBe(0);
    expect(JSON.parse(good.out)).toMatchObject({ ok: true, errors: [], summary: { gpus: 1, vms: 1, monitors: 0, shortcuts: 0 } });
  });

  it('reports an unreadable file in --json too', () => {
    const io = capture();
    expect(runConfigCheck('/nonexistent/baton.yaml', { json: true }, io)).toBe(1);
    expect(JSON.parse(io.out).errors).toEqual([{ file: '/nonexistent/baton.yaml', line: null, col: null, path: '', message: 'cannot read /nonexistent/baton.yaml: no such file' }]);
  });
});

describe('the config command', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  async function run(args: string[]): Promise<{ io: ReturnType<typeof capture>; status: number | string | undefined }> {
    const io = capture();
    const program = new Command('baton').exitOverride();
    registerConfig(program, io);
    await program.parseAsync(args, { from: 'user' });
    return { io, status: process.exitCode };
  }

  it('takes the file from --config', async () => {
    const { io, status } = await run(['config', '--config', fixturePath('minimal.yaml'), 'check']);
    expect(status).toBe(0);
    expect(io.out).toContain('minimal.yaml: OK');
  });

  it('prefers the FILE argument over --config', async () => {
    const { io, status } = await run(['config', '--config', fixturePath('minimal.yaml'), 'check', fixturePath('duplicate-gpu.yaml')]);
    expect(status).toBe(1);
    expect(io.err).toContain('duplicate-gpu.yaml:4:');
  });

  it('shows the config with defaults applied', async () => {
    const { io, status } = await run(['config', 'show', fixturePath('minimal.yaml')]);
    expect(status).toBe(0);
    expect(JSON.parse(io.out).helper.socket).toBe('/run/baton/helper.sock');
  });
});
