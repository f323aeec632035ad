// `baton ui --open` without the token in any argv: every local user reads /proc/*/cmdline, and the
// browser that xdg-open starts keeps its argv for the whole session. The token goes into a 0600
// HTML page in a folder only this user can enter; the opener is given that page's path, and the
// page sends the browser on to the desk's URL. The page is removed when `baton ui` stops.
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface LaunchPage {
  /** The page to hand to the opener: a path that says nothing secret. */
  path: string;
  /** Removes the page (and the folder, when it was a fresh one of its own). */
  remove(): void;
}

/** Opens a path with the desktop's default handler; argv, never a shell line. */
export type Opener = (argv: readonly string[]) => void;

const SUBFOLDER = 'baton-ui';

/** The user's own 0700 folder under $XDG_RUNTIME_DIR, or null when it is missing, foreign, open or a link. */
function runtimeFolder(runtimeDir: string | undefined): string | null {
  if (!runtimeDir || !isAbsolute(runtimeDir)) return null;
  const folder = join(runtimeDir, SUBFOLDER);
  try {
    mkdirSync(folder, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  try {
    const st = lstatSync(folder);
    const mine = st.uid === process.getuid?.();
    return st.isDirectory() && !st.isSymbolicLink() && mine && (st.mode & 0o077) === 0 ? folder : null;
  } catch {
    return null;
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function launchPageHtml(url: string): string {
  const u = escapeHtml(url);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0; url=${u}">
<title>Baton: opening the desk</title></head>
<body><p>Opening the desk… If nothing happens, <a href="${u}" rel="noreferrer">open it here</a>.</p></body></html>
`;
}

/** Writes the page that leads to `url`, in $XDG_RUNTIME_DIR/baton-ui when that is safe, else in a fresh private folder. */
export function writeLaunchPage(url: string, runtimeDir: string | undefined = process.env.XDG_RUNTIME_DIR): LaunchPage {
  const shared = runtimeFolder(runtimeDir);
  const folder = shared ?? mkdtempSync(join(tmpdir(), 'baton-ui-'));
  const path = join(folder, `desk-${randomBytes(6).toString('hex')}.html`);
  // 'wx': a fresh file, never one (or a link) planted there before.
  writeFileSync(path, launchPageHtml(url), { mode: 0o600, flag: 'wx' });
  return {
    path,
    remove: () => rmSync(shared ? path : folder, { recursive: !shared, force: true }),
  };
}

/** Writes the launch page and hands its path, and only that, to the opener. */
export function openDesk(url: string, opener: Opener, runtimeDir?: string): LaunchPage {
  const page = writeLaunchPage(url, runtimeDir);
  opener([page.path]);
  return page;
}
