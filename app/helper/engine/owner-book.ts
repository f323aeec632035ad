// The ownership registry as the engine uses it: read at start, every change saved at once.
import type { PciAddress } from '../../domain/pci-address.js';
import { isVmOwner, type OwnershipRegistry } from '../../domain/ownership/registry.js';
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

  setOwner(gpu: string, owner: Owner, functions: PciAddress[]): void {
    const previous = this.registry.gpus[gpu];
    const since = previous && previous.owner === owner ? previous.since : new Date().toISOString();
    this.registry.gpus[gpu] = { owner, functions, since, ...(isVmOwner(owner) ? { state: 'active' as const } : {}) };
    this.store.save(this.registry);
  }

  replace(registry: OwnershipRegistry): void {
    this.registry = registry;
    this.store.save(registry);
  }
}
