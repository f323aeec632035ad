// The checks in front of `baton ui`, tried with random hostile input: only this server's Host, its
// own Origin (or none, for a page load) and the exact token (as a subprotocol) get through; no path
// leaves the build.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestGuard, tokenFromSubprotocols } from '../../../app/ui/guard.js';
import { StaticFiles } from '../../../app/ui/static-files.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0';
const PORT = 43210;
const guard = new RequestGuard(TOKEN, '127.0.0.1', PORT);
const req = (headers: Record<string, string | undefined>) => ({ headers }) as unknown as IncomingMessage;

describe('the request guard', () => {
  it('lets through exactly its own Host, and an Origin that is its own or absent', () => {
    const hosts = fc.oneof(fc.constantFrom(`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LocalHost:${PORT}`, `127.0.0.1:${PORT + 1}`, `evil.example:${PORT}`, `127.0.0.1`, `127.0.0.2:${PORT}`, ''), fc.string());
    const origins = fc.oneof(fc.constantFrom(undefined, `http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`, `https://127.0.0.1:${PORT}`, `http://evil.example:${PORT}`, 'null'), fc.string());
    fc.assert(
      fc.property(hosts, origins, fc.boolean(), (host, origin, originRequired) => {
        const verdict = guard.checkPlace(req({ host, origin }), originRequired);
        // Host names are case-insensitive (RFC 9110); nothing else is loosened.
        const hostOk = [`127.0.0.1:${PORT}`, `localhost:${PORT}`].includes(host.toLowerCase());
        const originOk = origin === undefined ? !originRequired : [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`].includes(origin.toLowerCase());
        expect(verdict.ok).toBe(hostOk && originOk);
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the exact token only, and only as a subprotocol: never from a cookie or a header', () => {
    const near = fc.oneof(
      fc.constant(TOKEN),
      fc.string(),
      fc.constant(TOKEN.slice(0, -1)),
      fc.constant(TOKEN + 'x'),
      fc.constant(TOKEN.toLowerCase()),
      fc.integer({ min: 0, max: TOKEN.length - 1 }).map((i) => TOKEN.slice(0, i) + (TOKEN[i] === 'A' ? 'B' : 'A') + TOKEN.slice(i + 1)),
    );
    fc.assert(
      fc.property(near, fc.constantFrom('subprotocol', 'subprotocol-alone', 'old-cookie', 'bearer', 'nowhere'), (token, where) => {
        const headers: Record<string, string> = {};
        if (where === 'subprotocol') headers['sec-websocket-protocol'] = `baton.v1, baton.token.${token}`;
        if (where === 'subprotocol-alone') headers['sec-websocket-protocol'] = `baton.token.${token}`;
        // What authorized a request before: the cookie the token URL set, a bearer header.
        if (where === 'old-cookie') headers.cookie = `theme=dark; baton_ui_${PORT}=${token}`;
        if (where === 'bearer') headers.authorization = `Bearer ${token}`;
        const verdict = guard.checkToken(req(headers));
        // Subprotocols are a comma-separated list: whitespace after one is not part of it.
        const exact = token.trimEnd() === TOKEN && where.startsWith('subprotocol');
        expect(verdict.ok).toBe(exact);
        if (!where.startsWith('subprotocol')) expect(verdict).toMatchObject({ ok: false, status: 401 });
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the token subprotocol among others', () => {
    expect(tokenFromSubprotocols('baton.v1, baton.token.abc')).toBe('abc');
    expect(tokenFromSubprotocols('baton.v1')).toBeNull();
    expect(guard.checkToken(req({ 'sec-websocket-protocol': `baton.v1, baton.token.${TOKEN}x` }))).toMatchObject({ ok: false, status: 403 });
    expect(tokenFromSubprotocols(undefined)).toBeNull();
  });
});

describe('the renderer build as files', () => {
  it('never answers a path with a file outside the build, however it is spelt', () => {
    const base = mkdtempSync(join(tmpdir(), 'baton-static-'));
    const dist = join(base, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), 'INDEX');
    writeFileSync(join(dist, 'assets', 'a.js'), 'ASSET');
    writeFileSync(join(base, 'secret.txt'), 'SECRET');
    const files = new StaticFiles(dist);
    const piece = fc.constantFrom('..', '.', '%2e%2e', '%2E.', 'secret.txt', 'assets', 'a.js', '%2f', '/', '\\', '%5c', '%00', '', 'dist', '%252e');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        const answer = files.read('/' + parts.join('/'));
        const body = answer.body.toString();
        expect(body).not.toContain('SECRET');
        if (answer.status === 200) expect(['INDEX', 'ASSET']).toContain(body);
      }),
      { numRuns: 3000 },
    );
    expect(files.read('/assets/a.js').body.toString()).toBe('ASSET');
    expect(files.read('/history').body.toString()).toBe('INDEX');
  });

  it('says the renderer is not built when there is no build', () => {
    const files = new StaticFiles(join(tmpdir(), 'no-such-build-here'));
    expect(files.built).toBe(false);
    expect(files.read('/').body.toString()).toContain('npm run build:renderer');
  });
});
