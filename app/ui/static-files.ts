// The built renderer (renderer/dist) as files: a path from a URL is decoded, normalized and kept
// inside the folder (symlinks included), and served with its type; a path without an extension is
// the single-page app's index.html. When the renderer is not built, one plain page says so.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, posix, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
/** Larger than any file of the built renderer; a bigger one is refused rather than read whole. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

export type StaticAnswer = { status: 200; type: string; body: Buffer } | { status: 404 | 400; type: string; body: Buffer };

export class StaticFiles {
  private readonly root: string | null;

  constructor(distDir: string) {
    let root: string | null = null;
    try {
      root = realpathSync(distDir);
      statSync(join(root, 'index.html'));
    } catch {
      root = null;
    }
    this.root = root;
  }

  get built(): boolean {
    return this.root !== null;
  }

  read(urlPath: string): StaticAnswer {
    if (!this.root) return notBuilt();
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return text(400, 'bad path');
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return text(400, 'bad path');
    const clean = posix.normalize(decoded);
    if (!clean.startsWith('/') || clean.split('/').includes('..')) return text(400, 'bad path');
    const wanted = clean === '/' || extname(clean) === '' ? '/index.html' : clean;
    const file = this.inside(join(this.root, wanted));
    if (!file) return text(404, `no such file: ${wanted}`);
    return { status: 200, type: TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', body: readFileSync(file) };
  }

  /** The real file, when it is a regular file under the root. */
  private inside(path: string): string | null {
    try {
      const real = realpathSync(path);
      if (real !== this.root && !real.startsWith(this.root + sep)) return null;
      const st = statSync(real);
      return st.isFile() && st.size <= MAX_FILE_BYTES ? real : null;
    } catch {
      return null;
    }
  }
}

function text(status: 400 | 404, body: string): StaticAnswer {
  return { status, type: 'text/plain; charset=utf-8', body: Buffer.from(body + '\n') };
}

function notBuilt(): StaticAnswer {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baton: the desk is not built</title></head>
<body><main><h1>The desk is not built yet</h1>
<p>This is <code>baton ui</code>, and it is running, but the renderer it serves (<code>renderer/dist</code>) has not been built.</p>
<p>Build it with <code>npm run build:renderer</code> (or <code>npm start</code>, which builds everything), then reload this page.</p>
</main></body></html>
`;
  return { status: 200, type: TYPES['.html']!, body: Buffer.from(html) };
}
