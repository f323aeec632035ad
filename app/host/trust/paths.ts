// Whether root may trust a path: the file (or folder) and every folder above it up to / are owned by
// root (or the helper's own user when it is not root), not writable by group or others, and grant
// no write to anyone else through a POSIX ACL; state paths are not symbolic links, and a link on the
// way is root's, in a folder only root can write, and leads to folders that pass too. The rules follow
// OpenSSH's safe_path and sudo's secure-path checks: whoever can write any folder on the way can
// replace what the helper reads or redirect what it writes.
import { lstatSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { getXattr } from '../../../native/libc.js';
import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, aclWriters, AclFormatError, parseAcl } from './acl.js';

export interface TrustProblem {
  path: string;
  problem: string;
}

export interface TrustOptions {
  /** Owners accepted besides root: the helper's own uid when it does not run as root (--simulate). */
  owners?: readonly number[];
  /**
   * Accept a world-writable folder on the way when it is sticky and root-owned (/tmp): nobody but
   * root can then rename or remove the root-owned entry below it. Fine for reading the config and
   * programs; never for state, whose names others could take first.
   */
  allowStickyAncestor?: boolean;
}

/** "/var/lib/baton is writable by others" */
export const describeProblem = (p: TrustProblem): string => `${p.path} ${p.problem}`;

function trustedOwners(opts: TrustOptions): number[] {
  return [0, ...(opts.owners ?? [])];
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'a parent is not a folder' : (code ?? String(err));
}

/** The owner, mode and ACL rules for one file or folder whose lstat (or fstat) is `st`. */
export function nodeProblems(path: string, st: Stats, acl: { access: Buffer | null; default?: Buffer | null }, opts: TrustOptions & { ancestor?: boolean } = {}): TrustProblem[] {
  const owners = trustedOwners(opts);
  const problems: TrustProblem[] = [];
  const say = (problem: string) => problems.push({ path, problem });
  if (!owners.includes(st.uid)) say(`is owned by uid ${st.uid}, not ${owners.length > 1 ? `root or uid ${owners.slice(1).join(', ')}` : 'root'}`);
  const stickyRootDir = st.isDirectory() && (st.mode & 0o1000) !== 0 && st.uid === 0;
  if (st.mode & 0o002 && !(opts.ancestor && opts.allowStickyAncestor && stickyRootDir)) {
    say(stickyRootDir ? 'is writable by others (sticky, like /tmp: others could take names in it first)' : 'is writable by others');
  }
  if (st.mode & 0o020 && st.gid !== 0 && !acl.access) say(`is writable by group ${st.gid}`);
  for (const [name, buf] of [[ACL_ACCESS_XATTR, acl.access], [ACL_DEFAULT_XATTR, acl.default ?? null]] as const) {
    if (!buf) continue;
    try {
      const writers = aclWriters(parseAcl(buf), st.gid, owners);
      if (writers.length) say(`has ${name === ACL_DEFAULT_XATTR ? 'a default ACL (inherited by new files)' : 'an ACL'} that grants write to ${writers.join(', ')}`);
    } catch (err) {
      if (err instanceof AclFormatError) say(`has an unreadable ${name} (${err.message})`);
      else throw err;
    }
  }
  return problems;
}

function aclOf(path: string, folder: boolean): { access: Buffer | null; default: Buffer | null } {
  return { access: getXattr(path, ACL_ACCESS_XATTR), default: folder ? getXattr(path, ACL_DEFAULT_XATTR) : null };
}

/** Links followed in one walk before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

/**
 * Every folder on the way to `dir`, walked as the kernel resolves it: from / down, each level by
 * lstat. A link on the way (/var/run → /run) must itself belong to root (or a trusted owner) in a
 * folder that passed, and the folders it leads to are walked and checked in turn. Checking only
 * the resolved path (OpenSSH's safe_path) would miss the folder holding the link: whoever can
 * write that folder can point the link elsewhere after the check. So both are checked.
 */
export function checkAncestors(dir: string, opts: TrustOptions = {}): TrustProblem[] {
  const problems: TrustProblem[] = [];
  const options = { ...opts, ancestor: true };
  const checked = new Set<string>();
  const folder = (at: string, st: Stats) => {
    if (checked.has(at)) return;
    checked.add(at);
    problems.push(...nodeProblems(at, st, aclOf(at, true), options));
  };
  let links = 0;
  // Walks `path` level by level; returns where it really leads, or null when it cannot be walked.
  const walk = (path: string): string | null => {
    let at: string = sep;
    try {
      folder(at, lstatSync(at));
    } catch (err) {
      problems.push({ path: at, problem: `cannot be examined (${errnoText(err)})` });
      return null;
    }
    for (const name of resolve(path).split(sep).filter(Boolean)) {
      const next = join(at, name);
      let st: Stats;
      try {
        st = lstatSync(next);
      } catch (err) {
        problems.push({ path: next, problem: `cannot be examined (${errnoText(err)})` });
        return null;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) {
          problems.push({ path: next, problem: `leads through more than ${MAX_LINKS} symbolic links` });
          return null;
        }
        const owners = trustedOwners(opts);
        if (!owners.includes(st.uid)) problems.push({ path: next, problem: `is a symbolic link owned by uid ${st.uid}, not ${owners.length > 1 ? `root or uid ${owners.slice(1).join(', ')}` : 'root'}` });
        const real = walk(resolve(at, readlinkSync(next)));
        if (real === null) return null;
        at = real;
        continue;
      }
      if (!st.isDirectory()) {
        problems.push({ path: next, problem: 'is not a folder' });
        return null;
      }
      folder(next, st);
      at = next;
    }
    return at;
  };
  walk(resolve(dir));
  return dedupe(problems);
}

export type StateKind = 'folder' | 'file';

/**
 * A state path the helper writes (journal, registry, history, VBIOS store, socket folder): not a
 * link, owned and writable by root alone, and so is everything above it. A missing path is fine
 * when the folder it would be made in passes (the helper creates it, with O_EXCL/O_NOFOLLOW).
 */
export function checkStatePath(path: string, kind: StateKind, opts: TrustOptions = {}): TrustProblem[] {
  if (!isAbsolute(path)) return [{ path, problem: 'is not an absolute path' }];
  const abs = resolve(path);
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return [{ path: abs, problem: `cannot be examined (${errnoText(err)})` }];
    // Missing: judge the nearest folder that exists, which must not be a link either.
    return abs === dirname(abs) ? [] : checkStatePath(dirname(abs), 'folder', { ...opts, allowStickyAncestor: false });
  }
  if (st.isSymbolicLink()) return [{ path: abs, problem: 'is a symbolic link: the helper never follows links in its state paths' }];
  const problems: TrustProblem[] = [];
  if (kind === 'folder' && !st.isDirectory()) problems.push({ path: abs, problem: 'is not a folder' });
  if (kind === 'file' && !st.isFile()) problems.push({ path: abs, problem: 'is not a regular file' });
  problems.push(...nodeProblems(abs, st, aclOf(abs, st.isDirectory()), opts));
  if (abs !== dirname(abs)) problems.push(...checkAncestors(dirname(abs), { ...opts, allowStickyAncestor: false }));
  return dedupe(problems);
}

/** The helper's state paths, from its config. */
export interface StatePaths {
  /** The folder holding the journal and the registry (ownership.json). */
  stateDir: string;
  socketDir: string;
  romStore: string;
  /** Other folders the helper writes in: the per-GPU journals' folder. */
  folders?: string[];
  /** Files inside those folders or elsewhere: journal, registry, history. */
  files?: string[];
}

/** The state paths a helper config names: the journal's folder (with the registry and the driver memory), the socket's folder, the VBIOS store, the history. */
export function statePathsOf(helper: { journal: string; socket: string; vbiosStore: string; history: { file: string } }): StatePaths {
  const stateDir = dirname(helper.journal);
  return {
    stateDir,
    socketDir: dirname(helper.socket),
    romStore: helper.vbiosStore,
    // <stateDir>/journal/<gpu>.json (app/helper/compose.ts helperStores): a link there would redirect every journal write.
    folders: [join(stateDir, 'journal')],
    files: [helper.journal, join(stateDir, 'ownership.json'), join(stateDir, 'drivers.json'), helper.history.file],
  };
}

/** The check the helper runs at start, before it touches any state: every problem names its path. */
export function checkStatePaths(paths: StatePaths, opts: TrustOptions = {}): TrustProblem[] {
  const folders = [paths.stateDir, paths.socketDir, paths.romStore, ...(paths.folders ?? [])];
  const problems = [...folders.map((f) => checkStatePath(f, 'folder', opts)), ...(paths.files ?? []).map((f) => checkStatePath(f, 'file', opts))].flat();
  return dedupe(problems);
}

/**
 * A program (start.argv[0]) or a file root hands to one (an xl domain config): root-owned, not
 * writable by others, the folders above it too. A link is judged by what it points to, and the
 * folder holding the link is checked as well.
 */
export function checkProgramPath(path: string, opts: TrustOptions & { executable?: boolean } = {}): TrustProblem[] {
  if (!isAbsolute(path)) return [{ path, problem: 'is not an absolute path' }];
  const problems = checkAncestors(dirname(path), { allowStickyAncestor: true, ...opts });
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    return [...problems, { path, problem: `cannot be resolved (${errnoText(err)})` }];
  }
  if (real !== path) problems.push(...checkAncestors(dirname(real), { allowStickyAncestor: true, ...opts }));
  const st = lstatSync(real);
  if (!st.isFile()) problems.push({ path: real, problem: 'is not a regular file' });
  else if (opts.executable && !(st.mode & 0o111)) problems.push({ path: real, problem: 'is not executable' });
  problems.push(...nodeProblems(real, st, aclOf(real, false), opts));
  return dedupe(problems);
}

function dedupe(problems: TrustProblem[]): TrustProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = describeProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every program and file the config makes root run (start.argv[0], xl configFile), with its VM. */
export function checkConfigPrograms(config: { vms: readonly ({ name: string; backend: string; start?: { argv: readonly string[] }; configFile?: string })[] }, opts: TrustOptions = {}): TrustProblem[] {
  const problems: TrustProblem[] = [];
  for (const vm of config.vms) {
    const program = vm.start?.argv[0];
    if (program) problems.push(...checkProgramPath(program, { ...opts, executable: true }).map((p) => ({ ...p, problem: `${p.problem} (start.argv[0] of VM ${vm.name})` })));
    if (vm.configFile) problems.push(...checkProgramPath(vm.configFile, opts).map((p) => ({ ...p, problem: `${p.problem} (configFile of VM ${vm.name})` })));
  }
  return dedupe(problems);
}
