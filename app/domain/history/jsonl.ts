// The history file's format: JSON Lines, one entry per line, each line ending in "\n". Reading it is
// forgiving: a corrupt line is skipped and reported, and an unterminated last line (a write torn by a
// crash) is reported with the byte offset where the intact part of the file ends.
import { historyEntrySchema, type HistoryEntry } from './entry.js';

export interface SkippedLine {
  /** 1-based line number in the file. */
  line: number;
  reason: string;
}

export interface TornTail {
  line: number;
  /** Byte offset where the unterminated line starts: truncating the file here drops it. */
  offset: number;
  bytes: number;
  /** The tail held a whole, valid entry and only lacked its "\n"; it is kept in `entries`. */
  recovered: boolean;
  reason: string;
}

export interface ParsedHistory {
  /** Valid entries in file order (oldest first), one per id. */
  entries: HistoryEntry[];
  /** Lines that repeated an earlier id: the later line amends the entry, which keeps its place. */
  amended: number;
  corrupt: SkippedLine[];
  torn: TornTail | null;
}

const NEWLINE = 0x0a;

/** One line of the file: the entry as JSON (which escapes any newline inside strings) and "\n". */
export function serializeEntry(entry: HistoryEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

function parseLine(text: string): { entry: HistoryEntry } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { reason: `not JSON (${(err as Error).message})` };
  }
  const result = historyEntrySchema.safeParse(value);
  if (result.success) return { entry: result.data };
  const issue = result.error.issues[0];
  return { reason: `not a history entry (${issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'invalid'})` };
}

export function parseHistory(bytes: Uint8Array): ParsedHistory {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const entries: HistoryEntry[] = [];
  const corrupt: SkippedLine[] = [];
  const indexOfId = new Map<string, number>();
  let amended = 0;
  let torn: TornTail | null = null;
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    line++;
    const end = bytes.indexOf(NEWLINE, start);
    const terminated = end !== -1;
    const slice = bytes.subarray(start, terminated ? end : bytes.length);
    let parsed: { entry: HistoryEntry } | { reason: string };
    try {
      const text = decoder.decode(slice);
      parsed = text.trim() === '' ? { reason: 'blank' } : parseLine(text);
    } catch {
      parsed = { reason: 'not valid UTF-8' };
    }
    if ('entry' in parsed) {
      // The same switch recorded twice (a crash between the history and the journal, or an entry
      // amended when a late call ended): one entry, the last word, in the place of the first.
      const index = indexOfId.get(parsed.entry.id);
      if (index !== undefined) {
        entries[index] = parsed.entry;
        amended++;
      } else {
        indexOfId.set(parsed.entry.id, entries.length);
        entries.push(parsed.entry);
      }
    }
    if (!terminated) {
      const recovered = 'entry' in parsed;
      torn = {
        line,
        offset: start,
        bytes: slice.length,
        recovered,
        reason: recovered ? 'a whole entry without its line end' : `unfinished last line: ${(parsed as { reason: string }).reason}`,
      };
      break;
    }
    if ('reason' in parsed && parsed.reason !== 'blank') corrupt.push({ line, reason: parsed.reason });
    start = end + 1;
  }
  return { entries, amended, corrupt, torn };
}
