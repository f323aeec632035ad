// Reads baton.yaml from disk, and checks that only root can change it (the helper trusts it). The
// file is opened once, without following a final link (the link is resolved first, and both the
// link's folder and the target's are checked), and judged by fstat on that open file and its ACL:
// what is checked is what is read.
import { closeSync, constants, fstatSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { getXattrFd } from '../../../native/libc.js';
import { parseConfig, type ConfigParseResult } from '../../domain/config/index.js';
import { ACL_ACCESS_XATTR } from '../trust/acl.js';
import { openNoFollow } from '../trust/files.js';
import { checkAncestors, describeProblem, nodeProblems, type TrustOptions, type TrustProblem } from '../trust/paths.js';

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
    case 'ELOOP': return 'is a symbolic link';
    default: return err.code ?? err.message;
  }
}

interface OpenedConfig {
  bytes: Buffer;
  stat: Stats;
  acl: Buffer | null;
  realPath: string;
}

/** One open: fstat, the ACL and the bytes all come from the same file descriptor. */
function openConfig(path: string): OpenedConfig {
  let realPath = resolve(path);
  try {
    realPath = realpathSync(realPath);
    // O_NONBLOCK: a FIFO planted as the config must not hang the reader.
    const fd = openNoFollow(realPath, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) throw new ConfigReadError(path, `cannot read ${path}: is a directory`);
      if (!stat.isFile()) throw new ConfigReadError(path, `cannot read ${path}: not a regular file`);
      if (stat.size > MAX_CONFIG_BYTES) throw new ConfigReadError(path, `cannot read ${path}: ${stat.size} bytes is too large for a config file`);
      let acl: Buffer | null = null;
      try {
        acl = getXattrFd(fd, ACL_ACCESS_XATTR);
      } catch {
        acl = null; // a filesystem without xattrs has no ACLs
      }
      return { bytes: readFileSync(fd), stat, acl, realPath };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof ConfigReadError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new ConfigReadError(path, `cannot read ${path}: is a directory`);
    throw new ConfigReadError(path, `cannot read ${path}: ${describeErrno(err as NodeJS.ErrnoException)}`);
  }
}

function decode(path: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigReadError(path, `cannot read ${path}: not UTF-8 text`);
  }
}

/** The text of a config file; throws ConfigReadError when it cannot be read. */
export function readConfigText(path: string): string {
  return decode(path, openConfig(path).bytes);
}

/** Reads and parses a config file. Errors in the file are returned; an unreadable file throws ConfigReadError. */
export function loadConfigFile(path: string): ConfigParseResult {
  return parseConfig(readConfigText(path), path);
}

/** Why root must not trust a config it opened: the file (by fstat and ACL) and every folder up to /. */
function trustProblems(path: string, opened: OpenedConfig, opts: TrustOptions): TrustProblem[] {
  // The config may sit below a sticky root-owned folder (/tmp): only root can replace its entry.
  const options = { allowStickyAncestor: true, ...opts };
  const folders = new Set([dirname(resolve(path)), dirname(opened.realPath)]);
  return [
    ...nodeProblems(opened.realPath, opened.stat, { access: opened.acl }, options),
    ...[...folders].flatMap((f) => checkAncestors(f, options)),
  ];
}

/** "config file /etc/baton/baton.yaml is writable by others", "folder /etc/baton is owned by uid 1000, not root" */
function describeConfigProblem(p: TrustProblem, realPath: string): string {
  return `${p.path === realPath ? 'config file' : 'folder'} ${describeProblem(p)}`;
}

export interface TrustedConfig {
  /** Why the file must not be trusted, each naming its path; empty when root alone can change it. */
  problems: string[];
  /** The parsed file, read from the very file descriptor the checks looked at. */
  result: ConfigParseResult;
}

/**
 * The helper's config load: one open, fstat and the ACL on that descriptor, every folder up to /
 * checked, and the same bytes parsed. Throws ConfigReadError when it cannot be read.
 */
export function loadTrustedConfigFile(path: string, opts: TrustOptions = {}): TrustedConfig {
  const opened = openConfig(path);
  const problems = trustProblems(path, opened, opts).map((p) => describeConfigProblem(p, opened.realPath));
  return { problems, result: parseConfig(decode(path, opened.bytes), path) };
}

/**
 * Why the helper should not trust this file (for `baton doctor` and callers that only check).
 * The helper itself uses loadTrustedConfigFile, which checks and reads in one open.
 */
export function checkConfigFileOwnership(path: string, opts: TrustOptions = {}): string[] {
  try {
    const opened = openConfig(path);
    return trustProblems(path, opened, opts).map((p) => describeConfigProblem(p, opened.realPath));
  } catch (err) {
    if (err instanceof ConfigReadError) return [err.message];
    throw err;
  }
}
