// The renderer is served from baton://app/ (a privileged standard scheme registered by main), out
// of the renderer's Vite build (renderer/dist, built with base './'), never from file:// or the
// network. This module decides which file a request may read and with which headers.
import { extname, join, normalize, sep } from 'node:path';
import { APP_ORIGIN } from './ipc-main.js';

/** Sent with every document: only the app's own files, no inline script, no eval, no remote content. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

export const APP_URL = `${APP_ORIGIN.scheme}://${APP_ORIGIN.host}/index.html`;

export type AppFile = { ok: true; path: string; contentType: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/** The file under `root` a baton://app/... URL names, or why it may not be read. */
export function resolveAppFile(root: string, requestUrl: string): AppFile {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (url.protocol !== `${APP_ORIGIN.scheme}:` || url.host !== APP_ORIGIN.host) return { ok: false, status: 403, reason: `${url.protocol}//${url.host} is not the app` };
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'bad escape in the path' };
  }
  if (pathname.includes('\0')) return { ok: false, status: 400, reason: 'NUL in the path' };
  const relative = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const base = normalize(root);
  const path = normalize(join(base, relative));
  if (path !== base && !path.startsWith(base.endsWith(sep) ? base : base + sep)) return { ok: false, status: 403, reason: 'outside the app' };
  const contentType = TYPES[extname(path).toLowerCase()];
  if (!contentType) return { ok: false, status: 404, reason: `no such app file type ${extname(path) || '(none)'}` };
  return { ok: true, path, contentType };
}

/** The headers every app response carries. */
export function appResponseHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
}

/** What the window may fetch at all: the app's own URLs, data: images, and the devtools. */
export function isAppRequest(url: string): boolean {
  return url.startsWith(`${APP_ORIGIN.scheme}://${APP_ORIGIN.host}/`) || url.startsWith('data:image/') || url.startsWith('devtools://');
}
