// History pages are bounded by bytes as well as by count: 10,000 entries (the protocol's largest
// page) can be several MiB, and no answer may be longer than one line (MAX_LINE_BYTES), which a
// client refuses (and loses the connection). A page cut short says where to go on from
// (`nextOffset` for `history`, `nextCursor` for `desk.history`).
import { MAX_LINE_BYTES } from './helper-protocol.js';

/** Bytes of entries one page may carry: the line limit less room for the envelope and the totals. */
export const HISTORY_PAGE_MAX_BYTES = MAX_LINE_BYTES - 16 * 1024;

/** The longest prefix of `entries` whose JSON fits in `maxBytes` (always at least one entry). */
export function fitPage<T>(entries: readonly T[], maxBytes = HISTORY_PAGE_MAX_BYTES): T[] {
  let bytes = 2; // the brackets
  let n = 0;
  for (; n < entries.length; n++) {
    bytes += Buffer.byteLength(JSON.stringify(entries[n])) + (n ? 1 : 0);
    if (bytes > maxBytes && n > 0) break;
  }
  return entries.slice(0, n);
}
