// Turns zod's issues into messages for people editing a YAML file: YAML words (list, mapping),
// the offending value quoted, and the allowed values spelt out.
import type { z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;

/** How a YAML value reads in a message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function quoteAll(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}

/**
 * The error map handed to safeParse. `unknownKeys` collects, per object path, the keys the schema
 * knows, so each unknown key can be reported on its own line with a "did you mean".
 */
export function issueMessage(iss: RawIssue, knownKeys: Map<string, string[]>): string | undefined {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type':
      if (input === undefined) return 'is required';
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(input)}`;
    case 'invalid_value':
      if (iss.values.length === 1) return `expected ${quoteAll(iss.values)}, got ${describeValue(input)}`;
      return `${describeValue(input)} is not one of: ${quoteAll(iss.values)}`;
    case 'invalid_union':
      if ('discriminator' in iss && iss.discriminator) {
        const options = quoteAll((iss as { options?: unknown[] }).options ?? []);
        const given = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[iss.discriminator] : undefined;
        return given === undefined
          ? `is required (one of: ${options})`
          : `unknown ${iss.discriminator} ${describeValue(given)} (expected one of: ${options})`;
      }
      return undefined;
    case 'unrecognized_keys': {
      const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      if (shape) knownKeys.set(JSON.stringify(iss.path ?? []), Object.keys(shape));
      return 'unknown field';
    }
    case 'too_small':
      if (iss.origin === 'array') return iss.minimum === 1 ? 'must not be an empty list' : `needs at least ${iss.minimum} entries`;
      if (iss.origin === 'string') return 'must not be empty';
      return `${describeValue(input)} is too small (minimum ${iss.minimum})`;
    case 'too_big':
      return `${describeValue(input)} is too large (maximum ${iss.maximum})`;
    case 'invalid_format':
      return `${describeValue(input)} is not in the expected format`;
    default:
      return undefined;
  }
}

/** Edit distance, for suggesting the field a typo was meant to be. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}

export function unknownFieldMessage(key: string, known: string[]): string {
  const close = known
    .map((k) => ({ k, d: distance(key, k) }))
    .filter(({ k, d }) => d <= Math.max(1, Math.floor(k.length / 3)))
    .sort((x, y) => x.d - y.d)[0];
  if (close) return `unknown field ${JSON.stringify(key)} (did you mean ${JSON.stringify(close.k)}?)`;
  return known.length ? `unknown field ${JSON.stringify(key)} (expected one of: ${known.join(', ')})` : `unknown field ${JSON.stringify(key)}`;
}
