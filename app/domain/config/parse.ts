// parseConfig: YAML text → a checked BatonConfig, or every problem found, each at FILE:LINE:COL.
import { isDocument, isMap, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { crossFieldProblems } from './checks.js';
import { issueMessage, unknownFieldMessage } from './messages.js';
import { formatPath, positionOf, type PathSegment } from './positions.js';
import { configSchema, type BatonConfig } from './schema.js';

export type ConfigError = {
  file: string;
  line: number;
  col: number;
  /** Field path such as "vms[1].backend"; empty for YAML syntax errors. */
  path: string;
  message: string;
};

export type ConfigParseResult = { ok: true; config: BatonConfig } | { ok: false; errors: ConfigError[] };

/** "FILE:LINE:COL: path: message", the form editors and CI logs jump to. */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

const YAML_MESSAGES: Record<string, string> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document; remove the "---" separator',
  DUPLICATE_KEY: 'duplicate key (each key may appear once in a mapping)',
  TAB_AS_INDENT: 'tab used for indentation; indent with spaces',
};

function sortErrors(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors
    .filter((e) => {
      const k = formatConfigError(e);
      return seen.has(k) ? false : (seen.add(k), true);
    })
    .sort((a, b) => a.line - b.line || a.col - b.col);
}

function syntaxErrors(doc: Document, lc: LineCounter, fileName: string): ConfigError[] {
  // Warnings (an unknown !tag) are errors too: a config must mean exactly one thing.
  return [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = lc.linePos(e.pos[0]);
    return { file: fileName, line, col, path: '', message: YAML_MESSAGES[e.code] ?? e.message };
  });
}

/** An alias to an anchor that does not exist only fails when the document is converted. */
function unresolvedAliases(doc: Document, lc: LineCounter, fileName: string): ConfigError[] {
  const errors: ConfigError[] = [];
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined && alias.range) {
        const { line, col } = lc.linePos(alias.range[0]);
        errors.push({ file: fileName, line, col, path: '', message: `unknown alias *${alias.source} (no &${alias.source} anchor before it)` });
      }
    },
  });
  return errors;
}

/**
 * The yaml parser recurses per nested mapping, and a line packed with `key: value` pairs (or deep
 * nesting) runs it out of stack: a clear error at the longest line, which is where such a file
 * goes wrong, instead of a RangeError.
 */
function outOfStack(text: string, fileName: string): ConfigError {
  const lines = text.split(/\r\n|\r|\n/);
  let longest = 0;
  lines.forEach((l, i) => {
    if (l.length > (lines[longest]?.length ?? 0)) longest = i;
  });
  return {
    file: fileName, line: longest + 1, col: 1, path: '',
    message: `the YAML nests too deeply to read (the parser ran out of stack; line ${longest + 1} holds ${lines[longest]?.length ?? 0} characters): put each key on its own line`,
  };
}

export function parseConfig(text: string, fileName: string): ConfigParseResult {
  const fail = (errors: ConfigError[]): ConfigParseResult => ({ ok: false, errors: sortErrors(errors) });
  try {
    return parseConfigText(text, fileName, fail);
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) return fail([outOfStack(text, fileName)]);
    throw err;
  }
}

function parseConfigText(text: string, fileName: string, fail: (errors: ConfigError[]) => ConfigParseResult): ConfigParseResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const syntax = [...syntaxErrors(doc, lc, fileName), ...unresolvedAliases(doc, lc, fileName)];
  if (syntax.length) return fail(syntax);
  if (!isDocument(doc) || !isMap(doc.contents)) {
    const what = doc.contents === null ? 'is empty' : 'is not a mapping';
    const where = doc.contents?.range ? lc.linePos(doc.contents.range[0]) : { line: 1, col: 1 };
    return fail([{ file: fileName, ...where, path: '', message: `the file ${what}; it should start with top-level keys such as gpus: and vms:` }]);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // Alias bombs and the like: report once at the top rather than crash.
    return fail([{ file: fileName, line: 1, col: 1, path: '', message: `cannot read the YAML: ${(err as Error).message}` }]);
  }

  const at = (path: PathSegment[], message: string, where: 'key' | 'value' = 'value'): ConfigError => ({
    file: fileName,
    ...positionOf(doc, lc, path, where),
    path: formatPath(path),
    message,
  });

  const knownKeys = new Map<string, string[]>();
  const result = configSchema.safeParse(data, { error: (iss) => issueMessage(iss, knownKeys) });
  const errors: ConfigError[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeys.get(JSON.stringify(path)) ?? [];
        for (const key of issue.keys) errors.push(at([...path, key], unknownFieldMessage(key, known), 'key'));
      } else {
        errors.push(at(path, issue.message));
      }
    }
  }
  for (const p of crossFieldProblems(data)) errors.push(at(p.path, p.message, p.at));

  if (errors.length || !result.success) return fail(errors);
  return { ok: true, config: result.data };
}
