// The ownership registry on disk (JSON), owned by the helper. Saves are atomic (temp + fsync + rename +
// fsync of the folder). A file that is not a valid registry is moved aside and reported, never
// silently replaced: the caller starts from an empty registry and reconciles it with the machine.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { emptyRegistry, ownershipRegistrySchema, type OwnershipRegistry } from '../../domain/ownership/registry.js';
import { fsyncDir, readStateFile, replaceFileAtomic, StateFileError } from './atomic-file.js';

export const DEFAULT_OWNERSHIP_FILE = '/var/lib/baton/ownership.json';

export interface OwnershipLoad {
  registry: OwnershipRegistry;
  /** Set when the file was unreadable: what was wrong and where the file now is. */
  problem: { message: string; movedTo: string } | null;
  /** False when there was no file yet. */
  existed: boolean;
}

export class OwnershipStore {
  constructor(
    readonly file: string = DEFAULT_OWNERSHIP_FILE,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  load(): OwnershipLoad {
    let text: string;
    try {
      text = readStateFile(this.file).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { registry: emptyRegistry(), problem: null, existed: false };
      if (!(err instanceof StateFileError)) throw err;
      // A link or a file someone else could write: not read, moved aside (rename moves a link, not its target).
      const movedTo = this.moveAside();
      return { registry: emptyRegistry(), problem: { message: `${err.message}; moved it to ${movedTo} and starting from what the machine shows`, movedTo }, existed: true };
    }
    const reason = this.invalidReason(text);
    if (reason.registry) return { registry: reason.registry, problem: null, existed: true };
    const movedTo = this.moveAside();
    return { registry: emptyRegistry(), problem: { message: `${this.file} is not a valid ownership registry (${reason.message}); moved it to ${movedTo} and starting from what the machine shows`, movedTo }, existed: true };
  }

  save(registry: OwnershipRegistry): void {
    const valid = ownershipRegistrySchema.parse(registry);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o755 });
    replaceFileAtomic(this.file, `${JSON.stringify(valid, null, 2)}\n`);
  }

  private invalidReason(text: string): { registry: OwnershipRegistry; message?: never } | { registry?: never; message: string } {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { message: `not JSON: ${(err as Error).message}` };
    }
    const result = ownershipRegistrySchema.safeParse(value);
    if (result.success) return { registry: result.data };
    return { message: result.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ') };
  }

  /** Renames the bad file to <file>.corrupt-<time> (a number is added if that name is taken). */
  private moveAside(): string {
    const stamp = this.clock().toISOString().replace(/[:.]/g, '-');
    for (let n = 0; ; n++) {
      const target = `${this.file}.corrupt-${stamp}${n ? `-${n}` : ''}`;
      if (existsSync(target)) continue;
      renameSync(this.file, target);
      fsyncDir(dirname(this.file));
      return target;
    }
  }
}
