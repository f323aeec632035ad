// The switch history on disk: an append-only JSON Lines file the helper owns, with an in-memory index
// for queries. Each append is one write of a whole line, then fsync. Opening repairs what a crash can
// leave (a torn last line) and skips corrupt lines without losing the rest.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { historyEntrySchema, type HistoryEntry } from '../../domain/history/entry.js';
import { parseHistory, serializeEntry, type SkippedLine, type TornTail } from '../../domain/history/jsonl.js';
import { matcher, pageHistory, type HistoryFilter, type HistoryPage, type HistoryQuery } from '../../domain/history/query.js';
import { historyStats, type HistoryStats } from '../../domain/history/stats.js';
import { fsyncDir, openAppendNoFollow, readStateFile, replaceFileAtomic } from './atomic-file.js';

export const DEFAULT_HISTORY_FILE = '/var/lib/baton/history.jsonl';

export interface HistoryStoreOptions {
  /**
   * Keep the newest this many entries; 0 keeps everything. Rotation is amortised: the file grows to
   * half as many again before one rewrite takes it back to the newest maxEntries, so the history
   * holds between maxEntries and 1.5 × maxEntries once full (never one rewrite per append).
   */
  maxEntries?: number;
  /** The one write of an append; tests substitute a failing or short write. */
  write?: (fd: number, bytes: Buffer) => number;
}

export interface HistoryOpenReport {
  file: string;
  entries: number;
  /** Lines that repeated an id and amended its entry (one entry per id). */
  amended: number;
  /** Lines skipped as unreadable; they stay in the file until a rotation rewrites it. */
  corrupt: SkippedLine[];
  /** An unterminated last line, and what was done: cut off, or (a whole entry) given its line end. */
  torn: (TornTail & { repair: 'truncated' | 'terminated' }) | null;
  /** Oldest entries dropped by rotation on open. */
  rotatedAway: number;
}

/** A fresh entry id (random, so ids never collide across restarts). */
export function newHistoryId(): string {
  return randomUUID();
}

export class HistoryStore {
  private entries: HistoryEntry[] = [];
  private positions = new Map<string, number>();
  private fd: number;
  /** Bytes known to be whole lines: a failed append is cut back to here. */
  private size: number;
  readonly report: HistoryOpenReport;

  private constructor(
    readonly file: string,
    private readonly maxEntries: number,
    private readonly write: (fd: number, bytes: Buffer) => number,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    // Never through a link: a history file replaced by a symlink must not send root's appends elsewhere.
    this.fd = openAppendNoFollow(file, 0o644);
    const parsed = parseHistory(readStateFile(file));
    this.size = fstatSync(this.fd).size;
    let torn: HistoryOpenReport['torn'] = null;
    if (parsed.torn) {
      if (parsed.torn.recovered) {
        this.writeWhole(Buffer.from('\n'));
        torn = { ...parsed.torn, repair: 'terminated' };
      } else {
        ftruncateSync(this.fd, parsed.torn.offset);
        fsyncSync(this.fd);
        this.size = parsed.torn.offset;
        torn = { ...parsed.torn, repair: 'truncated' };
      }
    }
    fsyncDir(dirname(file));
    this.reindex(parsed.entries);
    const rotatedAway = this.rotateIfOver();
    this.report = { file, entries: this.entries.length, amended: parsed.amended, corrupt: parsed.corrupt, torn, rotatedAway };
  }

  /** Opens (creating when missing) and repairs the file; read `report` for what was found. */
  static open(file: string = DEFAULT_HISTORY_FILE, options: HistoryStoreOptions = {}): HistoryStore {
    const maxEntries = options.maxEntries ?? 0;
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be a non-negative integer, not ${maxEntries}`);
    return new HistoryStore(file, maxEntries, options.write ?? ((fd, bytes) => writeSync(fd, bytes)));
  }

  get count(): number {
    return this.entries.length;
  }

  /**
   * Validates, writes one line and fsyncs; the entry is queryable once this returns. Idempotent: the
   * same entry again writes nothing; an entry with a known id and new content amends that entry
   * (it keeps its place), so a switch id is always one entry.
   */
  append(entry: HistoryEntry): void {
    const valid = historyEntrySchema.parse(entry);
    const line = serializeEntry(valid);
    const at = this.positions.get(valid.id);
    if (at !== undefined && serializeEntry(this.entries[at]!) === line) return;
    this.writeWhole(Buffer.from(line, 'utf8'));
    if (at !== undefined) {
      this.entries[at] = valid;
      return;
    }
    this.positions.set(valid.id, this.entries.length);
    this.entries.push(valid);
    this.rotateIfOver();
  }

  /** The entry with this id, if the history holds it. */
  get(id: string): HistoryEntry | undefined {
    const at = this.positions.get(id);
    return at === undefined ? undefined : this.entries[at];
  }

  query(query: HistoryQuery = {}): HistoryPage {
    return pageHistory(this.entries, query, (id) => this.positions.get(id));
  }

  stats(filter: HistoryFilter = {}): HistoryStats {
    return historyStats(this.entries.filter(matcher(filter)));
  }

  close(): void {
    closeSync(this.fd);
  }

  /** One write, then fsync; a short or failed write is cut back so no torn line stays behind. */
  private writeWhole(bytes: Buffer): void {
    let written: number;
    try {
      written = this.write(this.fd, bytes);
    } catch (err) {
      this.cutBack();
      throw err;
    }
    if (written !== bytes.length) {
      this.cutBack();
      throw new Error(`${this.file}: short write (${written} of ${bytes.length} bytes); the entry was not recorded`);
    }
    fsyncSync(this.fd);
    this.size += bytes.length;
  }

  private cutBack(): void {
    try {
      ftruncateSync(this.fd, this.size);
    } catch {
      // the next open cuts the torn line instead
    }
  }

  private reindex(entries: HistoryEntry[]): void {
    this.entries = entries;
    this.positions = new Map(entries.map((e, i) => [e.id, i]));
  }

  /** Past 1.5 × maxEntries, keeps the newest maxEntries, rewriting the file atomically; returns how many were dropped. */
  private rotateIfOver(): number {
    if (this.maxEntries === 0 || this.entries.length <= this.maxEntries + Math.max(1, Math.floor(this.maxEntries / 2))) return 0;
    const drop = this.entries.length - this.maxEntries;
    const kept = this.entries.slice(drop);
    const text = kept.map(serializeEntry).join('');
    replaceFileAtomic(this.file, text);
    // The old descriptor now points at the replaced file; appends must go to the new one.
    closeSync(this.fd);
    this.fd = openAppendNoFollow(this.file, 0o644);
    this.size = Buffer.byteLength(text, 'utf8');
    this.reindex(kept);
    return drop;
  }
}
