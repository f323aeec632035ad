// The VBIOS store: <vendor>-<device>-<sha256 first 12>.rom plus a .json sidecar, written atomically.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseRom } from '../../domain/vbios/parse.js';
import { checkStateFile, readStateFile } from '../trust/files.js';
import { RomError } from './errors.js';
import { writeAtomic } from './files.js';
import { hex4Of, imagesSummary, romMetadataSchema, type RomMetadata } from './metadata.js';

export const DEFAULT_STORE_DIR = '/var/lib/baton/vbios';

/** What the caller knows about a ROM; the store adds hash, size, image summary and date. */
export type RomOrigin = Pick<RomMetadata, 'vendor' | 'device' | 'class' | 'source'> &
  Partial<Pick<RomMetadata, 'pciAddress' | 'sourcePath' | 'shadow' | 'corrected' | 'notes' | 'capturedAt'>>;

export interface StoredRom {
  romPath: string;
  metaPath: string;
  metadata: RomMetadata;
}

export interface SaveResult extends StoredRom {
  /** The same bytes were already stored; nothing was written. */
  duplicate: boolean;
}

const NAME = /^([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\.json$/;

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A stored file as the helper may trust it (no link, a regular file only root, or the user running
 * the command, can write: readStateFile), or undefined. A ROM's path goes to the hypervisor, so a
 * ROM that is a link, or that others may write, is not a stored ROM either (isTrustedFile).
 */
function readTrusted(path: string): Buffer | undefined {
  try {
    return readStateFile(path);
  } catch {
    return undefined;
  }
}
/** A stored ROM the helper may hand on: the same trust as a sidecar, checked without reading it. */
function isTrustedFile(path: string): boolean {
  try {
    checkStateFile(path);
    return true;
  } catch {
    return false;
  }
}

export class RomStore {
  readonly dir: string;
  constructor(dir = DEFAULT_STORE_DIR) {
    this.dir = resolve(dir);
  }

  fileBase(vendor: string, device: string, sha256: string): string {
    return `${vendor}-${device}-${sha256.slice(0, 12)}`;
  }

  save(bytes: Uint8Array, origin: RomOrigin): SaveResult {
    for (const [field, value] of [['vendor', origin.vendor], ['device', origin.device]] as const) {
      if (!/^[0-9a-f]{4}$/.test(value)) throw new RomError(`invalid ${field} id "${value}" for the store`);
    }
    const sha256 = sha256Of(bytes);
    const base = this.fileBase(origin.vendor, origin.device, sha256);
    const romPath = join(this.dir, `${base}.rom`);
    const metaPath = join(this.dir, `${base}.json`);
    // One trusted read of the stored ROM: its check and its bytes come from the same descriptor.
    const storedBytes = readTrusted(romPath);
    const existing = storedBytes ? this.readMeta(metaPath) : undefined;
    if (existing && storedBytes && sha256Of(storedBytes) === sha256) {
      return { romPath, metaPath, metadata: existing, duplicate: true };
    }
    this.ensureDir();
    const metadata: RomMetadata = romMetadataSchema.parse({
      ...origin,
      capturedAt: origin.capturedAt ?? new Date().toISOString(),
      sha256,
      size: bytes.length,
      images: imagesSummary(parseRom(bytes)),
    });
    // ROM first: a sidecar never names a ROM that is not there.
    writeAtomic(romPath, bytes, 0o644);
    writeAtomic(metaPath, JSON.stringify(metadata, null, 2) + '\n', 0o644);
    return { romPath, metaPath, metadata, duplicate: false };
  }

  /** Every stored ROM with a readable sidecar, sorted by file name. */
  list(): StoredRom[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch {
      return [];
    }
    const out: StoredRom[] = [];
    for (const name of names) {
      if (!NAME.test(name)) continue;
      const metaPath = join(this.dir, name);
      const romPath = metaPath.replace(/\.json$/, '.rom');
      const metadata = this.readMeta(metaPath);
      if (metadata && isTrustedFile(romPath)) out.push({ romPath, metaPath, metadata });
    }
    return out;
  }

  /** Stored ROMs for a vendor:device pair (numbers as the kernel reports them). */
  find(vendor: number, device: number): StoredRom[] {
    return this.list().filter((r) => r.metadata.vendor === hex4Of(vendor) && r.metadata.device === hex4Of(device));
  }

  private readMeta(path: string): RomMetadata | undefined {
    const bytes = readTrusted(path);
    if (!bytes) return undefined;
    try {
      const parsed = romMetadataSchema.safeParse(JSON.parse(bytes.toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  private ensureDir(): void {
    // mkdir's mode is masked by the umask; the store folder must be 0755 whatever it is.
    if (mkdirSync(this.dir, { recursive: true, mode: 0o755 }) !== undefined) chmodSync(this.dir, 0o755);
  }
}
