// Shared by the config tests: read a fixture, and find where a piece of text sits in it, so
// expected FILE:LINE:COL come from the fixture itself rather than from copied output.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));

export function fixturePath(name: string): string {
  return FIXTURES + name;
}

export function fixture(name: string): { file: string; text: string } {
  const file = fixturePath(name);
  return { file, text: readFileSync(file, 'utf8') };
}

/** 1-based line and column of the nth occurrence (0-based) of `needle` in `text`. */
export function positionOfText(text: string, needle: string, nth = 0): { line: number; col: number } {
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`fixture has no occurrence #${nth} of ${JSON.stringify(needle)}`);
  }
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, col: index - before.lastIndexOf('\n') };
}

/** The line `baton config check` prints for an error at `needle`. */
export function errorAt(file: string, text: string, needle: string, message: string, nth = 0): string {
  const { line, col } = positionOfText(text, needle, nth);
  return `${file}:${line}:${col}: ${message}`;
}
