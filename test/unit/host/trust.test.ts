// The trust checks as root on real files: links in state paths, ACLs granting write (set with
// setfacl when the acl package is installed, else written as the xattr itself), folders on the way
// that others can write, and the config opened once. Needs root (files must be root's to pass).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setXattr } from '../../../native/libc.js';
import { checkConfigFileOwnership, loadTrustedConfigFile } from '../../../app/host/config/load.js';
import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, aclWriters, encodeAcl, parseAcl, type AclEntry } from '../../../app/host/trust/acl.js';
import { openAppendNoFollow, readStateFile, replaceFileAtomic } from '../../../app/host/trust/files.js';
import { checkAncestors, checkConfigPrograms, checkProgramPath, checkStatePath, checkStatePaths, describeProblem } from '../../../app/host/trust/paths.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('SKIPPED test/unit/host/trust.test.ts (root checks): not running as root, so no file can be root-owned here\n');
const hasSetfacl = (() => {
  try {
    execFileSync('setfacl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Grants `uid` read+write through an ACL, the way `setfacl -m u:UID:rw` does (mask rw). */
function grantUserWrite(path: string, uid: number, mask = 6): void {
  if (hasSetfacl && mask === 6) {
    execFileSync('setfacl', ['-m', `u:${uid}:rw`, path]);
    return;
  }
  const entries: AclEntry[] = [
    { tag: 'user-obj', perm: 6, id: null },
    { tag: 'user', perm: 6, id: uid },
    { tag: 'group-obj', perm: 4, id: null },
    { tag: 'mask', perm: mask, id: null },
    { tag: 'other', perm: 4, id: null },
  ];
  setXattr(path, ACL_ACCESS_XATTR, encodeAcl(entries));
}

describe('POSIX ACL xattr', () => {
  it('parses the kernel format and finds who may write, limited by the mask', () => {
    const acl = encodeAcl([
      { tag: 'user-obj', perm: 6, id: null },
      { tag: 'user', perm: 6, id: 1000 },
      { tag: 'user', perm: 6, id: 0 },
      { tag: 'group-obj', perm: 4, id: null },
      { tag: 'group', perm: 7, id: 100 },
      { tag: 'mask', perm: 6, id: null },
      { tag: 'other', perm: 4, id: null },
    ]);
    const entries = parseAcl(acl);
    expect(entries).toHaveLength(7);
    expect(entries[1]).toEqual({ tag: 'user', perm: 6, id: 1000 });
    expect(aclWriters(entries, 0, [0])).toEqual(['user 1000', 'group 100']);
    // mask r--: the named entries cannot write, whatever they say
    const masked = entries.map((e) => (e.tag === 'mask' ? { ...e, perm: 4 } : e));
    expect(aclWriters(masked, 0, [0])).toEqual([]);
    expect(() => parseAcl(Buffer.from([1, 0, 0, 0]))).toThrow('ACL version 1');
    expect(() => parseAcl(Buffer.from([2, 0, 0, 0, 1]))).toThrow('not a POSIX ACL');
  });
});

describe.skipIf(!isRoot)('trusted paths (as root)', () => {
  // Not under /tmp: a sticky world-writable folder on the way is refused for state.
  const base = mkdtempSync('/var/lib/baton-trust-test-');
  chmodSync(base, 0o755);
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  let n = 0;
  const fresh = (mode = 0o755) => {
    const dir = join(base, `case-${n++}`);
    mkdirSync(dir, { mode });
    chmodSync(dir, mode);
    return dir;
  };

  it('accepts root-owned state paths, existing or still to be made', () => {
    const state = fresh();
    writeFileSync(join(state, 'history.jsonl'), '', { mode: 0o644 });
    expect(checkStatePaths({ stateDir: state, socketDir: join(state, 'run'), romStore: join(state, 'vbios'), files: [join(state, 'history.jsonl'), join(state, 'journal.json')] })).toEqual([]);
  });

  it('refuses a symlinked history file, and nothing is written to the link target', () => {
    const state = fresh();
    const victim = join(fresh(), 'shadow');
    writeFileSync(victim, 'root-only\n', { mode: 0o600 });
    const history = join(state, 'history.jsonl');
    symlinkSync(victim, history);
    const problems = checkStatePaths({ stateDir: state, socketDir: state, romStore: state, files: [history] });
    expect(problems.map(describeProblem)).toEqual([`${history} is a symbolic link: the helper never follows links in its state paths`]);
    // And the write paths themselves never follow it.
    expect(() => openAppendNoFollow(history)).toThrow(/ELOOP/);
    replaceFileAtomic(history, 'replaced\n');
    expect(readFileSync(victim, 'utf8')).toBe('root-only\n');
    expect(readFileSync(history, 'utf8')).toBe('replaced\n'); // the link itself was replaced by a file
  });

  it('refuses a symlinked state folder (the simulator default under /tmp was one)', () => {
    const real = fresh();
    const link = join(fresh(), 'state');
    symlinkSync(real, link);
    expect(checkStatePath(link, 'folder').map(describeProblem)).toEqual([`${link} is a symbolic link: the helper never follows links in its state paths`]);
    // a missing file inside a linked folder is judged by that folder
    expect(checkStatePath(join(link, 'journal.json'), 'file').map((p) => p.path)).toEqual([link]);
  });

  it('refuses a state path whose middle leads through a link in a folder another user owns, though where it leads is sound', () => {
    const good = fresh(); // root's, 0755: the resolved path alone passes
    const theirs = fresh();
    chownSync(theirs, 65534, 65534); // nobody may re-point what is in here at any time
    symlinkSync(good, join(theirs, 'link'));
    const history = join(theirs, 'link', 'state', 'history.jsonl');
    mkdirSync(join(good, 'state'));
    expect(checkStatePath(history, 'file').map(describeProblem)).toEqual([`${theirs} is owned by uid 65534, not root`]);
    // The same link in a folder only root can write passes: /var/run → /run is such a link.
    const sound = fresh();
    symlinkSync(good, join(sound, 'link'));
    expect(checkStatePath(join(sound, 'link', 'state', 'history.jsonl'), 'file')).toEqual([]);
  });

  it('refuses a link on the way that another user owns, and walks where a link leads (to an attacker\'s folder)', () => {
    const good = fresh();
    const dir = fresh();
    symlinkSync(good, join(dir, 'theirs'));
    lchownSync(join(dir, 'theirs'), 65534, 65534);
    expect(checkAncestors(join(dir, 'theirs')).map(describeProblem)).toEqual([`${join(dir, 'theirs')} is a symbolic link owned by uid 65534, not root`]);
    const attacker = fresh();
    chownSync(attacker, 65534, 65534);
    mkdirSync(join(attacker, 'x'));
    symlinkSync(join(attacker, 'x'), join(dir, 'away'));
    expect(checkAncestors(join(dir, 'away', 'state')).map(describeProblem)).toEqual([`${attacker} is owned by uid 65534, not root`, `${join(attacker, 'x', 'state')} cannot be examined (does not exist)`]);
    // A relative link, and a loop, are walked as the kernel would.
    symlinkSync('../' + good.split('/').pop()!, join(dir, 'rel'));
    expect(checkAncestors(join(dir, 'rel'))).toEqual([]);
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    expect(checkAncestors(join(dir, 'loop')).map(describeProblem)).toEqual([`${join(dir, 'loop')} leads through more than 40 symbolic links`]);
  });

  it('refuses a 0664 root:root file whose ACL grants another user write, and accepts one whose mask takes write away', () => {
    const state = fresh();
    const file = join(state, 'ownership.json');
    writeFileSync(file, '{}', { mode: 0o664 });
    chmodSync(file, 0o664);
    grantUserWrite(file, 65534);
    expect(checkStatePath(file, 'file').map(describeProblem)).toEqual([`${file} has an ACL that grants write to user 65534`]);

    const masked = join(state, 'masked.json');
    writeFileSync(masked, '{}', { mode: 0o644 });
    grantUserWrite(masked, 65534, 4);
    expect(checkStatePath(masked, 'file')).toEqual([]);
  });

  it('refuses the config when its ACL grants another user write (a root:root 0664 file)', () => {
    const dir = fresh();
    const config = join(dir, 'baton.yaml');
    writeFileSync(config, 'gpus: []\n', { mode: 0o664 });
    chmodSync(config, 0o664);
    expect(loadTrustedConfigFile(config).problems).toEqual([]);
    grantUserWrite(config, 65534);
    const { problems, result } = loadTrustedConfigFile(config);
    expect(problems).toEqual([`config file ${config} has an ACL that grants write to user 65534`]);
    expect(result.ok).toBe(true);
  });

  it('refuses a default ACL on a state folder: the files the helper makes there would inherit it', () => {
    const state = fresh();
    setXattr(state, ACL_DEFAULT_XATTR, encodeAcl([
      { tag: 'user-obj', perm: 7, id: null }, { tag: 'user', perm: 7, id: 65534 }, { tag: 'group-obj', perm: 5, id: null },
      { tag: 'mask', perm: 7, id: null }, { tag: 'other', perm: 5, id: null },
    ]));
    expect(checkStatePath(state, 'folder').map(describeProblem)).toEqual([`${state} has a default ACL (inherited by new files) that grants write to user 65534`]);
  });

  it('refuses a state path below a folder others can write, sticky or not, naming that folder', () => {
    const open = fresh(0o777);
    mkdirSync(join(open, 'state'), { mode: 0o755 });
    expect(checkStatePath(join(open, 'state'), 'folder').map(describeProblem)).toEqual([`${open} is writable by others`]);
    const sticky = fresh(0o1777);
    expect(checkStatePath(join(sticky, 'baton-sim'), 'folder').map(describeProblem)).toEqual([`${sticky} is writable by others (sticky, like /tmp: others could take names in it first)`]);
  });

  it('refuses a state folder another user owns, and a group-writable one not in the root group', () => {
    const state = fresh();
    chownSync(state, 65534, 65534);
    expect(checkStatePath(state, 'folder').map(describeProblem)).toEqual([`${state} is owned by uid 65534, not root`]);
    const group = fresh(0o775);
    chownSync(group, 0, 100);
    expect(checkStatePath(group, 'folder').map(describeProblem)).toEqual([`${group} is writable by group 100`]);
    // The helper's own uid is accepted when told so (--simulate as a normal user).
    expect(checkStatePath(state, 'folder', { owners: [65534] })).toEqual([]);
  });

  it('checks every folder up to / for the config; a sticky root-owned one is fine there', () => {
    const open = fresh(0o777);
    const inner = join(open, 'etc');
    mkdirSync(inner, { mode: 0o755 });
    writeFileSync(join(inner, 'baton.yaml'), 'gpus: []\n', { mode: 0o644 });
    expect(checkConfigFileOwnership(join(inner, 'baton.yaml'))).toEqual([`folder ${open} is writable by others`]);
    const sticky = fresh(0o1777);
    const ok = join(sticky, 'etc');
    mkdirSync(ok, { mode: 0o755 });
    writeFileSync(join(ok, 'baton.yaml'), 'gpus: []\n', { mode: 0o644 });
    expect(checkConfigFileOwnership(join(ok, 'baton.yaml'))).toEqual([]);
  });

  it('judges a symlinked config by its target, and checks the folder holding the link too', () => {
    const realDir = fresh();
    const target = join(realDir, 'baton.yaml');
    writeFileSync(target, 'gpus: []\n', { mode: 0o644 });
    const linkDir = fresh(0o777);
    const link = join(linkDir, 'baton.yaml');
    symlinkSync(target, link);
    const { problems } = loadTrustedConfigFile(link);
    expect(problems).toEqual([`folder ${linkDir} is writable by others`]);
    const trustedLink = join(fresh(), 'baton.yaml');
    symlinkSync(target, trustedLink);
    expect(loadTrustedConfigFile(trustedLink).problems).toEqual([]);
  });

  it('checks a program root runs: the file and its folders, not writable by others', () => {
    expect(checkProgramPath(process.execPath, { executable: true })).toEqual([]);
    const open = fresh(0o777);
    const program = join(open, 'qemu-wrapper');
    writeFileSync(program, '#!/bin/sh\n', { mode: 0o755 });
    expect(checkProgramPath(program, { executable: true }).map(describeProblem)).toEqual([`${open} is writable by others`]);
    const dir = fresh();
    const writable = join(dir, 'start-vm');
    writeFileSync(writable, '#!/bin/sh\n');
    chmodSync(writable, 0o757);
    expect(checkProgramPath(writable).map(describeProblem)).toEqual([`${writable} is writable by others`]);
    expect(checkProgramPath(join(dir, 'missing')).map(describeProblem)).toEqual([`${join(dir, 'missing')} cannot be resolved (does not exist)`]);
    expect(checkProgramPath('relative/qemu').map(describeProblem)).toEqual(['relative/qemu is not an absolute path']);
  });

  it('creates temp files exclusively: a name taken by anything makes the write fail, never follow it', () => {
    const dir = fresh();
    const file = join(dir, 'registry.json');
    replaceFileAtomic(file, '{"a":1}');
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}');
    // no stray temp file left behind
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).trim()).toBe('registry.json');
    const fd = openAppendNoFollow(join(dir, 'log'));
    closeSync(fd);
    expect(existsSync(join(dir, 'log'))).toBe(true);
  });
});

describe.skipIf(!isRoot)('programs the config makes root run (as root)', () => {
  it('names the VM whose start.argv[0] or xl configFile others could change', () => {
    const open = mkdtempSync('/var/lib/baton-trust-programs-');
    try {
      chmodSync(open, 0o777);
      const cfg = join(open, 'vm.cfg');
      writeFileSync(cfg, 'name="x"\n', { mode: 0o644 });
      const problems = checkConfigPrograms({ vms: [
        { name: 'win', backend: 'qmp', start: { argv: [process.execPath] } },
        { name: 'xen-a', backend: 'xen', configFile: cfg },
      ] }).map(describeProblem);
      expect(problems).toEqual([`${open} is writable by others (configFile of VM xen-a)`]);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!isRoot)('no-follow reads', () => {
  it('a state file replaced by a link is not read through it', () => {
    const dir = mkdtempSync('/var/lib/baton-trust-read-');
    try {
      writeFileSync(join(dir, 'secret'), 'root-only');
      symlinkSync(join(dir, 'secret'), join(dir, 'drivers.json'));
      expect(() => readStateFile(join(dir, 'drivers.json'))).toThrow(/is a symbolic link/);
      writeFileSync(join(dir, 'plain.json'), '{}');
      expect(readStateFile(join(dir, 'plain.json')).toString()).toBe('{}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
