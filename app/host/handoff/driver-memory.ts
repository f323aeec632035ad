// The driver each function had before Baton moved it to vfio-pci, kept on disk so that a release
// in another process (or after a restart) gives every function back to the driver it came from.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isCanonicalPciAddress, type PciAddress } from '../../domain/pci-address.js';
import { readStateFile, replaceFileAtomic } from '../trust/files.js';

export interface RememberedFunction {
  /** null when the function had no driver. */
  driver: string | null;
  since: string;
}

export interface ConsoleRecord {
  vtconsoles: number[];
  platformFramebuffers: { driver: string; device: string }[];
}

interface MemoryFile {
  functions: Record<string, RememberedFunction>;
  consoles: Record<string, ConsoleRecord>;
}

const DRIVER_NAME = /^[A-Za-z0-9_.-]+$/;

export class DriverMemory {
  private readonly file: string;
  constructor(private readonly dir: string) {
    this.file = join(dir, 'drivers.json');
  }

  private load(): MemoryFile {
    try {
      const data = JSON.parse(readStateFile(this.file).toString('utf8')) as Partial<MemoryFile>;
      return { functions: data.functions ?? {}, consoles: data.consoles ?? {} };
    } catch {
      return { functions: {}, consoles: {} };
    }
  }

  private save(data: MemoryFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    replaceFileAtomic(this.file, JSON.stringify(data, null, 2), 0o644);
  }

  /** Records drivers for functions not yet remembered (a second claim keeps the first record). */
  remember(drivers: Map<PciAddress, string | null>): void {
    const data = this.load();
    for (const [address, driver] of drivers) {
      if (!data.functions[address]) data.functions[address] = { driver, since: new Date().toISOString() };
    }
    this.save(data);
  }

  /** The remembered driver; undefined when nothing was remembered or the record is not trustworthy. */
  driverOf(address: PciAddress): string | null | undefined {
    const entry = this.load().functions[address];
    if (!entry) return undefined;
    if (entry.driver !== null && !DRIVER_NAME.test(entry.driver)) return undefined;
    return entry.driver;
  }

  forget(addresses: PciAddress[]): void {
    const data = this.load();
    for (const a of addresses) {
      delete data.functions[a];
      delete data.consoles[a];
    }
    this.save(data);
  }

  rememberConsole(gpu: PciAddress, record: ConsoleRecord): void {
    const data = this.load();
    data.consoles[gpu] = record;
    this.save(data);
  }

  consoleOf(gpu: PciAddress): ConsoleRecord | undefined {
    return this.load().consoles[gpu];
  }

  remembered(): PciAddress[] {
    return Object.keys(this.load().functions).filter(isCanonicalPciAddress);
  }
}
