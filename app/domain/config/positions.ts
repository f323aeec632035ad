// Maps a field path (["vms", 1, "backend"]) to where it sits in the YAML text, and prints it
// the way users read it ("vms[1].backend").
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export type PathSegment = string | number;
export type Position = { line: number; col: number };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return undefined;
  return typeof key === 'object' ? undefined : String(key);
}

type Located = { node: Node; keyNode?: Node };

/** Walks as far along the path as the document goes; a missing field lands on its parent. */
function locate(doc: Document, path: readonly PathSegment[]): Located | undefined {
  let cur: unknown = doc.contents;
  let found: Located | undefined = isNodeWithRange(cur) ? { node: cur } : undefined;
  for (const seg of path) {
    if (isAlias(cur)) cur = cur.resolve(doc);
    let next: unknown;
    let keyNode: Node | undefined;
    if (isMap(cur)) {
      const pair = cur.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) break;
      keyNode = isNodeWithRange(pair.key) ? pair.key : undefined;
      // `key:` with nothing after it has no value node worth pointing at; the key is.
      next = isNodeWithRange(pair.value) && !(isScalar(pair.value) && pair.value.value === null) ? pair.value : keyNode;
    } else if (isSeq(cur) && typeof seg === 'number') {
      next = cur.items[seg];
    }
    if (!isNodeWithRange(next)) break;
    found = { node: next, keyNode };
    cur = next;
  }
  return found;
}

function isNodeWithRange(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && Array.isArray((x as { range?: unknown }).range);
}

/**
 * Where to report an error about `path`: the value, or with `at: 'key'` the key itself
 * (for unknown fields). Falls back to the nearest ancestor present, then to 1:1.
 */
export function positionOf(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[], at: 'value' | 'key' = 'value'): Position {
  const located = locate(doc, path);
  const node = at === 'key' && located?.keyNode ? located.keyNode : located?.node;
  const offset = node?.range?.[0];
  return offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
}

/**
 * Where each config path sits in `text`, for messages about a config already loaded. A file the
 * parser cannot read (it runs out of stack on some) locates everything at 1:1 rather than throw.
 */
export function configLocator(text: string): (path: readonly PathSegment[]) => Position {
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  } catch {
    return () => ({ line: 1, col: 1 });
  }
  return (path) => {
    try {
      return positionOf(doc, lc, path);
    } catch {
      return { line: 1, col: 1 };
    }
  };
}
