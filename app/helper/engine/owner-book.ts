// The ownership registry as the engine uses it: read at start, every change saved at once.
import type { PciAddress } from '../../domain/pci-address.js';
import { isUncertain, isVmOwner, type OwnershipRecord, type OwnershipRegistry } from '../../domain/ownership/registry.js';
import type { Owner } from '../../domain/switch/ports.js';
import type { OwnerBook } from './switch-engine.js';

export interface RegistryStore {
  load(): { registry: OwnershipRegistry; problem: { message: string } | null };
  save(registry: OwnershipRegistry): void;
}

export class RegistryOwnerBook implements OwnerBook {
  registry: OwnershipRegistry;
  readonly loadProblem: string | null;

  constructor(private readonly store: RegistryStore) {
    const loaded = store.load();
    this.registry = loaded.registry;
    this.loadProblem = loaded.problem?.message ?? null;
  }

  ownerOf(gpu: string): Owner | undefined {
    return this.registry.gpus[gpu]?.owner;
  }

  recordOf(gpu: string): OwnershipRecord | undefined {
    return this.registry.gpus[gpu];
  }

  /** `reason` is kept only for a lost or wedged owner (it says why, and what was seen). */
  setOwner(gpu: string, owner: Owner, functions: PciAddress[], reason?: string): void {
    const previous = this.registry.gpus[gpu];
    const since = previous && previous.owner === owner ? previous.since : new Date().toISOString();
    this.registry.gpus[gpu] = {
      owner, functions, since,
      ...(isVmOwner(owner) ? { state: 'active' as const } : {}),
      ...(isUncertain(owner) ? { reason: reason ?? 'no reason recorded' } : {}),
    };
    this.store.save(this.registry);
  }

  /** One GPU's record from a reconciliation (the rest of the registry stays as it is). */
  replaceRecord(gpu: string, record: OwnershipRecord): void {
    this.registry.gpus[gpu] = record;
    this.store.save(this.registry);
  }

  replace(registry: OwnershipRegistry): void {
    this.registry = registry;
    this.store.save(registry);
  }
}
