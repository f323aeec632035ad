// How every command reports: a result on stdout (text or --json), errors on stderr (with --json,
// as JSON on stdout), and the exit status of exit-codes.ts.
import { EXIT } from './exit-codes.js';

/** An error the user can act on: printed as "baton: message", never a stack trace. */
export class UserError extends Error {
  constructor(message: string, readonly details: string[] = [], readonly exitCode: number = EXIT.error) {
    super(message);
    this.name = 'UserError';
  }
}

/** The command line was wrong: exit 2. */
export class UsageError extends UserError {
  constructor(message: string, details: string[] = []) {
    super(message, details, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** An error as --json prints it on stdout. */
export function errorJson(message: string, details: string[], exitCode: number): string {
  return JSON.stringify({ ok: false, error: { message, details, exitCode } }, null, 2) + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
}

/** Renders rows as aligned columns; the first row is the header. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}
