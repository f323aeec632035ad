import type { DeskFinding } from '../../../client/types';

/** "file:line:col", "file:line", "file", or null for a finding about the machine. */
export function findingPlace(f: Pick<DeskFinding, 'file' | 'line' | 'col'>): string | null {
  if (f.file === null) return f.line === null ? null : `line ${f.line}${f.col === null ? '' : `:${f.col}`}`;
  if (f.line === null) return f.file;
  return `${f.file}:${f.line}${f.col === null ? '' : `:${f.col}`}`;
}
