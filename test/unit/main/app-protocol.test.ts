// The baton://app/ protocol serves only files of the renderer build, with the CSP; a path that
// climbs out, another host or scheme, or an unknown file type is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appResponseHeaders, CONTENT_SECURITY_POLICY, isAppRequest, resolveAppFile } from '../../../app/main/app-protocol.js';
import { allowNavigation, allowPermission, SECURE_WEB_PREFERENCES } from '../../../app/main/security.js';

const root = '/opt/Baton/resources/app.asar/renderer/dist';

describe('app protocol', () => {
  it('maps the app\'s URLs to files under the build', () => {
    expect(resolveAppFile(root, 'baton://app/')).toEqual({ ok: true, path: `${root}/index.html`, contentType: 'text/html; charset=utf-8' });
    expect(resolveAppFile(root, 'baton://app/index.html?x=1#/history')).toMatchObject({ ok: true, path: `${root}/index.html` });
    expect(resolveAppFile(root, 'baton://app/assets/index-abc.js')).toMatchObject({ ok: true, path: `${root}/assets/index-abc.js`, contentType: 'text/javascript; charset=utf-8' });
  });

  it.each([
    ['baton://app/assets/..%2f..%2f..%2fx.js', 'outside'],
    ['baton://app/a%00.js', 'NUL'],
    ['baton://app/%E0%A4%A.js', 'bad escape'],
    ['baton://evil/index.html', 'not the app'],
    ['https://app/index.html', 'not the app'],
    ['baton://app/run.sh', 'no such app file type'],
    ['nonsense', 'not a URL'],
  ])('%s is refused (%s)', (url, reason) => {
    const r = resolveAppFile(root, url);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('no path, however it climbs or is escaped, leaves the build', () => {
    const segment = fc.constantFrom('..', '%2e%2e', '.%2e', '%2E.', '..%2f', '%2f', '%5c..', 'assets', 'x.js', 'index.html', '.', '', '%00', '//');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), (parts) => {
        const r = resolveAppFile(root, `baton://app/${parts.join('/')}`);
        if (r.ok) expect(r.path.startsWith(`${root}/`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // The URL parser already folds plain ../ away; what is left lands inside the build.
    expect(resolveAppFile(root, 'baton://app/../../../../etc/passwd.html')).toMatchObject({ ok: true, path: `${root}/etc/passwd.html` });
  });

  it('the window fetches only the app\'s own URLs', () => {
    expect(isAppRequest('baton://app/assets/x.js')).toBe(true);
    expect(isAppRequest('data:image/png;base64,AAAA')).toBe(true);
    for (const url of ['https://example.org/x.js', 'file:///etc/passwd', 'baton://app.evil/x', 'baton://other/', 'ws://127.0.0.1:1/', 'data:text/html,<script>']) expect(isAppRequest(url), url).toBe(false);
  });

  it('every response carries the strict CSP: no inline script, no eval, nothing remote', () => {
    const h = appResponseHeaders('text/html; charset=utf-8');
    expect(h['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(h['X-Content-Type-Options']).toBe('nosniff');
  });

  it('the window is sandboxed and isolated; navigation and permissions are denied', () => {
    expect(SECURE_WEB_PREFERENCES).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(allowNavigation('baton://app/other.html')).toBe(false);
    expect(allowNavigation('https://example.org/')).toBe(false);
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) expect(allowPermission(p)).toBe(false);
  });
});
