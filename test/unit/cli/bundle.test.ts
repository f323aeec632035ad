// bin/baton runs the bundle (scripts/bundle.mjs) only when it is at least as new as the tsc output,
// so a `tsc` without the bundle step never runs stale code; and the bundle is the same CLI.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'baton-bundle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of bin/baton whose two possible targets only say which one ran. */
function tree(name: string, files: { dist?: number; bundle?: number }): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(root, 'bin/baton'), join(dir, 'bin/baton'));
  const put = (rel: string, said: string, mtimeSeconds: number) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), `process.stdout.write(${JSON.stringify(said)});\n`);
    utimesSync(join(dir, rel), mtimeSeconds, mtimeSeconds);
  };
  if (files.dist !== undefined) put('dist/app/cli/bin.js', 'dist', files.dist);
  if (files.bundle !== undefined) put('dist/bundle/baton.js', 'bundle', files.bundle);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  return join(dir, 'bin/baton');
}
const run = (bin: string) => spawnSync(process.execPath, [bin], { encoding: 'utf8' });

describe('bin/baton picks what to run', () => {
  it('runs the bundle when it is newer than the tsc output', () => {
    expect(run(tree('fresh', { dist: 1_000_000, bundle: 1_000_100 })).stdout).toBe('bundle');
  });
  it('runs the bundle when both have the same time (the packaged app: asar gives every file one)', () => {
    expect(run(tree('same', { dist: 1_000_000, bundle: 1_000_000 })).stdout).toBe('bundle');
  });
  it('runs dist/ when tsc wrote it after the bundle', () => {
    expect(run(tree('stale', { dist: 1_000_100, bundle: 1_000_000 })).stdout).toBe('dist');
  });
  it('runs dist/ when there is no bundle', () => {
    expect(run(tree('none', { dist: 1_000_000 })).stdout).toBe('dist');
  });
  it('says to build when neither is there', () => {
    const r = run(tree('empty', {}));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not built yet; run `npm run build`/);
  });
});

const built = existsSync(join(root, 'dist/bundle/baton.js')) && existsSync(join(root, 'dist/app/cli/bin.js'));
if (!built && process.env.CI === 'true') throw new Error('dist/ is not built: run npm run build before the unit tests');

describe.runIf(built)('the bundle is the same CLI as dist/', () => {
  const both = (args: string[]) =>
    ['dist/app/cli/bin.js', 'dist/bundle/baton.js'].map((entry) => spawnSync(process.execPath, [join(root, entry), ...args], { encoding: 'utf8', env: { ...process.env, BATON_SOCKET: join(scratch, 'no-helper.sock') } }));
  it.each([[['--help']], [['helper', '--help']], [['--version']], [['config', 'check', '--config', join(root, 'test/fixtures/no-such.yaml')]], [['status', '--json']]])('baton %j', (args) => {
    const [dist, bundle] = both(args);
    expect(bundle!.status).toBe(dist!.status);
    expect(bundle!.stdout).toBe(dist!.stdout);
    expect(bundle!.stderr).toBe(dist!.stderr);
  });
  it('runs the input relay child from its own file next to the bundle', () => {
    // relay.ts spawns ./relay-child.js beside itself: in the bundle that is dist/bundle/relay-child.js.
    // Run without its arguments it loads every chunk it imports and koffi, and does nothing else.
    const r = spawnSync(process.execPath, [join(root, 'dist/bundle/relay-child.js')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
