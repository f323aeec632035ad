// The write-ahead journal: before each step runs, what the switch is about to do is on disk
// (written to a temp file, fsynced, renamed, the folder fsynced). After a crash the helper reads it
// back, looks at the real state, and finishes or rolls back the interrupted switch.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { PlannedStep } from '../../domain/switch/plan.js';

const stepRecord = z.object({ name: z.string(), outcome: z.enum(['ok', 'failed', 'undone', 'skipped']), ms: z.number(), error: z.string().optional() });

export const journalSchema = z.object({
  switchId: z.string(),
  gpu: z.string(),
  gpuAddress: z.string(),
  functions: z.array(z.string()),
  from: z.string(),
  to: z.string(),
  requestedBy: z.enum(['tray', 'shortcut', 'cli', 'browser', 'recovery']),
  startedAt: z.string(),
  plan: z.array(z.record(z.string(), z.unknown())),
  /** forward: running the plan; unwinding: undoing it; parking: the last resort. */
  phase: z.enum(['forward', 'unwinding', 'parking']),
  steps: z.array(stepRecord),
  /** The step about to run (or running) when the journal was written. */
  current: z.string().nullable(),
  rolledBack: z.array(z.string()),
});

export type JournalRecord = Omit<z.output<typeof journalSchema>, 'plan'> & { plan: PlannedStep[] };

export class Journal {
  constructor(readonly path: string) {}

  write(record: JournalRecord): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  /** The interrupted switch, if any; a journal that cannot be read is reported, not ignored. */
  read(): { record: JournalRecord | null; problem: string | null } {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { record: null, problem: code === 'ENOENT' ? null : `cannot read the journal ${this.path}: ${code}` };
    }
    try {
      const parsed = journalSchema.parse(JSON.parse(text));
      return { record: parsed as JournalRecord, problem: null };
    } catch (err) {
      return { record: null, problem: `the journal ${this.path} is damaged (${(err as Error).message.split('\n')[0]}); the real state decides` };
    }
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}
