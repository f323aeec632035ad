// Read access to a sysfs tree: the live /sys, or a folder that plays it (a capture, a fixture).
// Reads never throw: a missing or unreadable file is an outcome the caller turns into a problem entry.
import { readFileSync, readdirSync, readlinkSync, statSync, lstatSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export type ReadOutcome = { ok: true; value: string } | { ok: false; reason: string };

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.code === 'ENOENT' ? ' (missing)' : ''}` : String(err);
}

export class Sysfs {
  readonly root: string;
  constructor(root = '/sys') {
    this.root = resolve(root);
  }

  /** Absolute path of a sysfs-relative path ("bus/pci/devices/0000:01:00.0/class"). */
  path(rel: string): string {
    return join(this.root, rel);
  }

  /** The trimmed text of an attribute, or why it could not be read. */
  read(rel: string): ReadOutcome {
    try {
      return { ok: true, value: readFileSync(this.path(rel), 'utf8').trim() };
    } catch (err) {
      return { ok: false, reason: reasonOf(err) };
    }
  }

  /** The attribute's text, or undefined when it cannot be read. */
  text(rel: string): string | undefined {
    const r = this.read(rel);
    return r.ok ? r.value : undefined;
  }

  bytes(rel: string): Buffer | undefined {
    try {
      return readFileSync(this.path(rel));
    } catch {
      return undefined;
    }
  }

  /** The last component of a symlink's target ("vfio-pci" for a driver link), or undefined. */
  linkName(rel: string): string | undefined {
    try {
      return basename(readlinkSync(this.path(rel)));
    } catch {
      return undefined;
    }
  }

  /** A symlink's raw target, or undefined when it is not a readable link. */
  linkTarget(rel: string): string | undefined {
    try {
      return readlinkSync(this.path(rel));
    } catch {
      return undefined;
    }
  }

  /** Whether a symlink resolves (a dangling link is false). */
  resolves(rel: string): boolean {
    try {
      statSync(this.path(rel));
      return true;
    } catch {
      return false;
    }
  }

  isLink(rel: string): boolean {
    try {
      return lstatSync(this.path(rel)).isSymbolicLink();
    } catch {
      return false;
    }
  }

  exists(rel: string): boolean {
    try {
      lstatSync(this.path(rel));
      return true;
    } catch {
      return false;
    }
  }

  /** Entries of a folder, sorted; empty when it is missing or unreadable. */
  list(rel: string): string[] {
    try {
      return readdirSync(this.path(rel)).sort();
    } catch {
      return [];
    }
  }
}
