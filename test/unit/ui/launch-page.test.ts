// `baton ui --open` keeps the token out of every argv (/proc/*/cmdline is readable by all users):
// the opener gets the path of a 0600 page in a 0700 folder of the user's own, and the page leads
// to the URL. Tried with the opener injected, with hostile folders, and on a real `baton ui --open`
// whose xdg-open is a script that records its argv.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openDesk } from '../../../app/ui/launch-page.js';
import { batonArgv, REPO } from '../../support/desk-stack.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0';
const URL_WITH_TOKEN = `http://127.0.0.1:40123/#token=${TOKEN}`;
const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runtimeDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'baton-runtime-'));
  made.push(d);
  return d;
}

const mode = (path: string) => statSync(path).mode & 0o777;

function open(dir: string | undefined): { argv: string[]; page: ReturnType<typeof openDesk> } {
  const calls: (readonly string[])[] = [];
  const page = openDesk(URL_WITH_TOKEN, (argv) => calls.push(argv), dir);
  made.push(dirname(page.path));
  expect(calls).toHaveLength(1);
  return { argv: [...calls[0]!], page };
}

function expectPrivatePage(argv: string[], path: string): void {
  expect(argv).toEqual([path]);
  expect(argv.join(' ')).not.toContain(TOKEN);
  expect(mode(path)).toBe(0o600);
  expect(mode(dirname(path))).toBe(0o700);
  expect(statSync(dirname(path)).uid).toBe(process.getuid!());
  const html = readFileSync(path, 'utf8');
  expect(html).toContain(`<meta http-equiv="refresh" content="0; url=${URL_WITH_TOKEN}">`);
  expect(html).toContain(`href="${URL_WITH_TOKEN}"`);
}

describe('the page baton ui --open hands to the browser', () => {
  it('lives in $XDG_RUNTIME_DIR/baton-ui (made 0700), is 0600, carries the URL; the opener sees only its path', () => {
    const dir = runtimeDir();
    const { argv, page } = open(dir);
    expect(dirname(page.path)).toBe(join(dir, 'baton-ui'));
    expectPrivatePage(argv, page.path);
    page.remove();
    expect(existsSync(page.path)).toBe(false);
    expect(existsSync(join(dir, 'baton-ui'))).toBe(true); // the shared folder stays for the next run
  });

  it('does not write through a baton-ui that is a link, or that others may enter: a fresh private folder instead', () => {
    for (const plant of ['link', 'open'] as const) {
      const dir = runtimeDir();
      const elsewhere = runtimeDir();
      if (plant === 'link') symlinkSync(elsewhere, join(dir, 'baton-ui'));
      else {
        mkdirSync(join(dir, 'baton-ui'));
        chmodSync(join(dir, 'baton-ui'), 0o755);
      }
      const { argv, page } = open(dir);
      expect(dirname(page.path).startsWith(join(tmpdir(), 'baton-ui-')), plant).toBe(true);
      expectPrivatePage(argv, page.path);
      expect(readdirSync(elsewhere)).toEqual([]);
      expect(readdirSync(join(dir, 'baton-ui'))).toEqual([]);
      page.remove();
      expect(existsSync(dirname(page.path)), plant).toBe(false);
    }
  });

  it('does not use a baton-ui folder another user owns', () => {
    if (process.getuid!() !== 0) {
      console.log('foreign-owner case SKIPPED: only root can make a folder another user owns');
      return;
    }
    const dir = runtimeDir();
    mkdirSync(join(dir, 'baton-ui'), { mode: 0o700 });
    chownSync(join(dir, 'baton-ui'), 4242, 4242);
    const { argv, page } = open(dir);
    expect(dirname(page.path)).not.toBe(join(dir, 'baton-ui'));
    expectPrivatePage(argv, page.path);
    page.remove();
  });

  it('without $XDG_RUNTIME_DIR (or a relative one) uses a fresh private folder and removes it after', () => {
    for (const dir of [undefined, 'relative/run']) {
      const { argv, page } = open(dir);
      expect(dirname(page.path).startsWith(join(tmpdir(), 'baton-ui-'))).toBe(true);
      expectPrivatePage(argv, page.path);
      page.remove();
      expect(existsSync(dirname(page.path))).toBe(false);
    }
  });
});

describe('a real baton ui --open', () => {
  it('runs xdg-open with the page path only, the page leads to the printed URL, and is gone when baton ui stops', async () => {
    const dir = runtimeDir();
    const bin = join(dir, 'bin');
    const run = join(dir, 'run');
    mkdirSync(bin);
    mkdirSync(run, { mode: 0o700 });
    const record = join(dir, 'argv.txt');
    // The stand-in desktop opener: records its argv, one per line, and the page it was given.
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${record}.tmp"\ncat "$1" > "${record}.page"\nmv "${record}.tmp" "${record}"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, XDG_RUNTIME_DIR: run };
    const ui = spawn(process.execPath, [...batonArgv(), 'ui', '--open', '--socket', join(dir, 'no-helper.sock'), '--dist', join(dir, 'no-build')], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    ui.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => ui.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: ui.stdout }).once('line', resolve);
        void exited.then((code) => reject(new Error(`baton ui ended (${code}) before printing a URL:\n${stderr}`)));
      });
      const token = new URLSearchParams(new URL(url).hash.slice(1)).get('token');
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      for (let i = 0; i < 400 && !existsSync(record); i++) await new Promise((r) => setTimeout(r, 50));
      if (!existsSync(record)) throw new Error(`xdg-open never ran; baton ui said:\n${stderr}`);
      const argv = readFileSync(record, 'utf8').trimEnd().split('\n');
      expect(argv).toHaveLength(1);
      expect(argv[0]!.startsWith(join(run, 'baton-ui') + '/')).toBe(true);
      expect(argv[0]).not.toContain(token!);
      expect(mode(argv[0]!)).toBe(0o600);
      expect(mode(join(run, 'baton-ui'))).toBe(0o700);
      expect(readFileSync(`${record}.page`, 'utf8')).toContain(`url=${url}"`);
      ui.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(argv[0]!)).toBe(false);
    } finally {
      ui.kill('SIGKILL');
    }
  }, 60_000);
});
