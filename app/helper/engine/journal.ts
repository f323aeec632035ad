// The write-ahead journals, one per GPU: before each step runs, what that GPU's switch is about to
// do is on disk (through the one atomic-write helper). After a crash the helper reads every journal
// back, looks at the real state, and finishes or rolls back each interrupted switch.
// A journal's file name is the GPU's config name, checked against the config: never a path from input.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { MAX_COALESCED_LISTED, REQUESTERS, stepSchema } from '../../domain/history/entry.js';
import type { PlannedStep } from '../../domain/switch/plan.js';
import { fsyncDir, readStateFile, replaceFileAtomic, StateFileError } from '../store/atomic-file.js';

const peer = z.object({ uid: z.number().int(), user: z.string().nullable() });

export const journalSchema = z.object({
  switchId: z.string(),
  gpu: z.string(),
  gpuAddress: z.string(),
  functions: z.array(z.string()),
  from: z.string(),
  to: z.string(),
  requestedBy: z.enum(REQUESTERS),
  peer: peer.optional(),
  coalesced: z.array(z.object({ switchId: z.string(), target: z.string(), requestedBy: z.enum(REQUESTERS), peer: peer.optional() })).max(MAX_COALESCED_LISTED).optional(),
  coalescedOmitted: z.number().int().positive().optional(),
  startedAt: z.string(),
  plan: z.array(z.record(z.string(), z.unknown())),
  /** forward: running the plan; unwinding: undoing it; parking: the last resort; awaiting-late:
   *  given up while a call was out past its deadline (the GPU is recorded lost until it returns). */
  phase: z.enum(['forward', 'unwinding', 'parking', 'awaiting-late']),
  /** The calls out past their deadline when the switch was given up (awaiting-late). */
  late: z.array(z.object({ step: z.string(), target: z.string(), what: z.string(), ms: z.number() })).optional(),
  steps: z.array(stepSchema),
  /** The step about to run (or running) when the journal was written. */
  current: z.string().nullable(),
  rolledBack: z.array(z.string()),
});

export type JournalRecord = Omit<z.output<typeof journalSchema>, 'plan'> & { plan: PlannedStep[] };

/** A GPU name safe as a file name: what the config allows, minus anything path-like. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class Journal {
  constructor(readonly gpu: string, readonly path: string) {}

  write(record: JournalRecord): void {
    if (record.gpu !== this.gpu) throw new Error(`the journal of ${this.gpu} was given a switch of ${record.gpu}`);
    replaceFileAtomic(this.path, JSON.stringify(record), 0o600);
  }

  /** The interrupted switch, if any; a journal that cannot be read is reported, not ignored. */
  read(): { record: JournalRecord | null; problem: string | null } {
    return readJournalFile(this.path);
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}

function readJournalFile(path: string): { record: JournalRecord | null; problem: string | null } {
  let text: string;
  try {
    text = readStateFile(path).toString('utf8');
  } catch (err) {
    if (err instanceof StateFileError) return { record: null, problem: `cannot read the journal: ${err.message}` };
    const code = (err as NodeJS.ErrnoException).code;
    return { record: null, problem: code === 'ENOENT' ? null : `cannot read the journal ${path}: ${code}` };
  }
  try {
    return { record: journalSchema.parse(JSON.parse(text)) as JournalRecord, problem: null };
  } catch (err) {
    return { record: null, problem: `the journal ${path} is damaged (${(err as Error).message.split('\n')[0]}); the real state decides` };
  }
}

/** What start-up found in the journal folder. */
export interface FoundJournal {
  gpu: string;
  journal: Journal;
  record: JournalRecord | null;
  problem: string | null;
}

export class JournalBook {
  private readonly journals = new Map<string, Journal>();

  /**
   * @param dir the folder of the per-GPU journals (<stateDir>/journal)
   * @param gpus the configured GPU names: the only journals this book writes
   * @param legacyFile the single journal of earlier versions, read once at start-up
   */
  constructor(readonly dir: string, gpus: readonly string[], private readonly legacyFile?: string) {
    for (const gpu of gpus) {
      if (!SAFE_NAME.test(gpu)) throw new Error(`GPU name ${JSON.stringify(gpu)} cannot name a journal file (letters, digits, . _ - only)`);
      this.journals.set(gpu, new Journal(gpu, join(dir, `${gpu}.json`)));
    }
  }

  get aside(): string {
    return join(this.dir, 'aside');
  }

  /** The journal of a configured GPU; any other name is refused. */
  for(gpu: string): Journal {
    const journal = this.journals.get(gpu);
    if (!journal) throw new Error(`no journal for ${JSON.stringify(gpu)}: not a configured GPU`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return journal;
  }

  /**
   * Every journal on disk. A file that names no configured GPU (renamed or removed from the config),
   * or is not a journal at all, is moved aside and reported, never replayed and never in the way.
   */
  found(): { journals: FoundJournal[]; problems: string[] } {
    const journals: FoundJournal[] = [];
    const problems: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(this.dir, { withFileTypes: true }).filter((e) => !e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot read the journal folder ${this.dir}: ${(err as NodeJS.ErrnoException).code}`);
    }
    for (const name of names.sort()) {
      const gpu = name.endsWith('.json') ? name.slice(0, -'.json'.length) : null;
      const journal = gpu === null ? undefined : this.journals.get(gpu);
      const path = join(this.dir, name);
      if (!journal || gpu === null) {
        problems.push(`the journal ${path} names no configured GPU; moved it to ${this.moveAside(path)}`);
        continue;
      }
      const read = journal.read();
      if (read.record && read.record.gpu !== gpu) {
        problems.push(`the journal ${path} holds a switch of ${read.record.gpu}, not ${gpu}; moved it to ${this.moveAside(path)}`);
        continue;
      }
      journals.push({ gpu, journal, ...read });
    }
    if (this.legacyFile) {
      const legacy = readJournalFile(this.legacyFile);
      if (legacy.problem) problems.push(legacy.problem);
      if (legacy.record && this.journals.has(legacy.record.gpu) && !journals.some((j) => j.gpu === legacy.record!.gpu)) {
        // An interrupted switch from before per-GPU journals: it becomes that GPU's journal.
        const journal = this.for(legacy.record.gpu);
        journal.write(legacy.record);
        journals.push({ gpu: legacy.record.gpu, journal, record: legacy.record, problem: null });
        rmSync(this.legacyFile, { force: true });
      } else if (legacy.record || legacy.problem) {
        problems.push(`the journal ${this.legacyFile} (${legacy.record ? `a switch of ${legacy.record.gpu}, not configured or already journaled` : 'damaged'}); moved it to ${this.moveAside(this.legacyFile)}`);
      }
    }
    return { journals, problems };
  }

  /** Moves a journal into <dir>/aside/, under a name that is free; returns where it went. */
  moveAside(path: string): string {
    mkdirSync(this.aside, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (let n = 0; ; n++) {
      const target = join(this.aside, `${basename(path)}.${stamp}${n ? `-${n}` : ''}`);
      if (existsSync(target)) continue;
      renameSync(path, target);
      fsyncDir(this.aside);
      return target;
    }
  }
}
