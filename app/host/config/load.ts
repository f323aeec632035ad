// Reads baton.yaml from disk, and checks that only root can change it (the helper trusts it).
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseConfig, type ConfigParseResult } from '../../domain/config/index.js';

/** Larger than any real config; refusing early keeps a wrong path (a disk image) from being slurped. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The file could not be read at all; message says why, in words. */
export class ConfigReadError extends Error {
  constructor(readonly file: string, message: string) {
    super(message);
    this.name = 'ConfigReadError';
  }
}

function describeErrno(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'a parent is not a directory';
    default: return err.code ?? err.message;
  }
}

/** The text of a config file; throws ConfigReadError when it cannot be read. */
export function readConfigText(path: string): string {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new ConfigReadError(path, `cannot read ${path}: is a directory`);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigReadError(path, `cannot read ${path}: ${st.size} bytes is too large for a config file`);
    const bytes = readFileSync(path);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    if (err instanceof ConfigReadError) throw err;
    if (err instanceof TypeError) throw new ConfigReadError(path, `cannot read ${path}: not UTF-8 text`);
    throw new ConfigReadError(path, `cannot read ${path}: ${describeErrno(err as NodeJS.ErrnoException)}`);
  }
}

/** Reads and parses a config file. Errors in the file are returned; an unreadable file throws ConfigReadError. */
export function loadConfigFile(path: string): ConfigParseResult {
  return parseConfig(readConfigText(path), path);
}

/**
 * Why the helper should not trust this file: it, or its folder, can be changed by someone other
 * than root. Empty when the file is root-owned and not writable by group or others.
 */
export function checkConfigFileOwnership(path: string): string[] {
  const problems: string[] = [];
  const check = (p: string, what: string) => {
    try {
      const st = statSync(p);
      if (st.uid !== 0) problems.push(`${what} ${p} is owned by uid ${st.uid}, not root`);
      if (st.mode & 0o002) problems.push(`${what} ${p} is writable by others`);
      else if (st.mode & 0o020 && st.gid !== 0) problems.push(`${what} ${p} is writable by group ${st.gid}`);
    } catch (err) {
      problems.push(`cannot stat ${p}: ${describeErrno(err as NodeJS.ErrnoException)}`);
    }
  };
  let file = resolve(path);
  try {
    // A symlink is judged by what it points to, and by the folder that really holds that.
    file = realpathSync(file);
  } catch {
    // stat below reports the missing file
  }
  check(file, 'config file');
  // Whoever can write the folder can replace the file.
  check(dirname(file), 'folder');
  return problems;
}
