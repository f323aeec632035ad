// `npm start` where Electron cannot run (as here: no binary): the simulated helper and `baton ui`,
// the URL first on stdout, one line saying why not the tray, a desk behind the URL, and Ctrl-C
// stopping both and removing the private folder. Runs what is built (--no-build; npm test builds).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { REPO } from '../../support/desk-stack.js';
import { describeOrSkip } from '../../support/skip.js';

const built = existsSync(join(REPO, 'dist', 'app', 'cli', 'bin.js'));
if (!built) console.log('npm start test SKIPPED: dist/ is not built (npm run build)');

function get(url: URL, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describeOrSkip(built ? null : 'dist/ is not built (npm run build; npm test builds first)', 'npm start without Electron', () => {
  it('prints the URL of a working desk, says why not the tray, and stops both on Ctrl-C', async () => {
    const env = { ...process.env, BROWSER: 'true' } as NodeJS.ProcessEnv; // xdg-open runs `true PAGE`: no browser here
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const start = spawn(process.execPath, [join(REPO, 'scripts', 'start.mjs'), '--no-build'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    start.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: start.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`npm start ended (${code}) before printing a URL:\n${stderr}`)));
    });
    const parsed = new URL(url);
    expect(parsed.search).toBe('');
    expect(new URLSearchParams(parsed.hash.slice(1)).get('token')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const host = parsed.host;
    const page = await get(new URL('/', parsed), { host });
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<html/i);
    for (let i = 0; i < 100 && !stderr.includes('not the tray app'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(/baton: not the tray app: (Electron's binary is not installed|there is no graphical session)/);
    const folder = /listening on (\S+)\/helper\.sock/.exec(stderr)?.[1];
    expect(folder && existsSync(folder)).toBe(true);

    start.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(folder!)).toBe(false);
    await expect(get(new URL('/', parsed), { host })).rejects.toThrow(/ECONNREFUSED/);
  }, 60_000);
});
