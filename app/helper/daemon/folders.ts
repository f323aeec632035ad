// Making the helper's folders one level at a time. Node's recursive mkdir retries for ever on a
// path under /proc (the kernel answers ENOENT for every level), so the helper never uses it.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A folder the helper needs and cannot have; the message names the path and the reason. */
export class FolderError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'FolderError';
  }
}

// An existing level may be a link (/var/run → /run): whether state paths may be links is the
// trust check's call; this only makes what is missing.
function kind(path: string): 'folder' | 'missing' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new FolderError(path, `cannot look at ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Makes `folder` and the missing folders above it, each with `mode` (mkdir never follows a link
 * in the level it makes). Fails at once, naming `purpose` and the path, where a level cannot be made.
 */
export function ensureFolder(folder: string, mode: number, purpose: string): void {
  const target = resolve(folder);
  const missing: string[] = [];
  let at = target;
  for (;;) {
    const k = kind(at);
    if (k === 'folder') break;
    if (k === 'other') throw new FolderError(at, `cannot use ${target} for ${purpose}: ${at} exists and is not a folder`);
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  if (/^\/(proc|sys)(\/|$)/.test(target) && missing.length) {
    throw new FolderError(target, `cannot use ${target} for ${purpose}: folders cannot be made under /${target.split('/')[1]}`);
  }
  for (const level of missing) {
    try {
      mkdirSync(level, { mode });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && kind(level) === 'folder') continue;
      throw new FolderError(level, `cannot use ${target} for ${purpose}: cannot make ${level}: ${code ?? (err as Error).message}`);
    }
  }
}
