// The monitors the helper last saw on each GPU, kept in its state folder: a GPU a VM holds has no
// host DRM driver, so its monitors vanish from sysfs, yet the desk must still show them (as "last
// seen at"). Written only when what is seen changes, through the one atomic-write helper.
import { join } from 'node:path';
import { z } from 'zod';
import { readStateFile, replaceFileAtomic } from '../store/atomic-file.js';

export const MONITOR_MEMORY_FILE = 'desk-monitors.json';
const MAX_FILE_BYTES = 1024 * 1024;

const rememberedSchema = z.object({
  connector: z.string().min(1).max(128),
  edidName: z.string().max(128).nullable(),
  manufacturerId: z.string().max(8).nullable(),
  productCode: z.number().int().nullable(),
  serial: z.string().max(128).nullable(),
  preferredMode: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), refreshHz: z.number().nonnegative() }).nullable(),
  status: z.string().max(64).nullable(),
  /** ISO time of the last build that saw it. */
  seenAt: z.string().min(1).max(64),
});
const fileSchema = z.object({ version: z.literal(1), gpus: z.record(z.string(), z.array(rememberedSchema).max(64)) });

export type RememberedMonitor = z.output<typeof rememberedSchema>;

export class MonitorMemory {
  private gpus: Record<string, RememberedMonitor[]>;
  /** Set of connectors seen on each GPU at the last write, to write only on a change. */
  private written = new Map<string, string>();
  /** Whether the last observation saw the GPU on the host. */
  private present = new Map<string, boolean>();

  private constructor(private readonly file: string | null, gpus: Record<string, RememberedMonitor[]>, private readonly log: (line: string) => void) {
    this.gpus = gpus;
    for (const [gpu, monitors] of Object.entries(gpus)) this.written.set(gpu, key(monitors));
  }

  /** Loads the memory from the state folder; a missing or unreadable file starts empty (and says why). */
  static open(stateDir: string | null, log: (line: string) => void = () => {}): MonitorMemory {
    if (stateDir === null) return new MonitorMemory(null, {}, log);
    const file = join(stateDir, MONITOR_MEMORY_FILE);
    let gpus: Record<string, RememberedMonitor[]> = {};
    try {
      const text = readStateFile(file).toString('utf8');
      if (text.length > MAX_FILE_BYTES) throw new Error(`${text.length} bytes is too large`);
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success) gpus = parsed.data.gpus;
      else log(`ignoring ${file}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`ignoring ${file}: ${(err as Error).message}`);
    }
    return new MonitorMemory(file, gpus, log);
  }

  /** What was last seen on this GPU (empty when never). */
  lastSeen(gpu: string): readonly RememberedMonitor[] {
    return this.gpus[gpu] ?? [];
  }

  /**
   * Records what the host shows on a GPU now. While the GPU is away (a VM or vfio-pci holds it) an
   * empty list keeps the memory: that is the point. Saved when the set changes, and once when the GPU
   * leaves, so the file keeps the last time it was really seen.
   */
  observe(gpu: string, seen: RememberedMonitor[], away: boolean): void {
    if (seen.length === 0 && away) {
      if (this.present.get(gpu) === true) this.save();
      this.present.set(gpu, false);
      return;
    }
    this.present.set(gpu, true);
    this.gpus[gpu] = seen;
    const now = key(seen);
    if (this.written.get(gpu) === now) return;
    this.written.set(gpu, now);
    this.save();
  }

  /** Forgets GPUs the config no longer names. */
  keepOnly(gpus: readonly string[]): void {
    const drop = Object.keys(this.gpus).filter((g) => !gpus.includes(g));
    if (!drop.length) return;
    for (const g of drop) {
      delete this.gpus[g];
      this.written.delete(g);
      this.present.delete(g);
    }
    this.save();
  }

  private save(): void {
    if (this.file === null) return;
    try {
      replaceFileAtomic(this.file, JSON.stringify({ version: 1, gpus: this.gpus }, null, 2) + '\n', 0o644);
    } catch (err) {
      this.log(`cannot save the monitors last seen to ${this.file}: ${(err as Error).message}`);
    }
  }
}

/** What identifies a set of monitors for "did it change" (the times do not count). */
function key(monitors: readonly RememberedMonitor[]): string {
  return JSON.stringify(monitors.map(({ seenAt: _seenAt, ...rest }) => rest));
}
