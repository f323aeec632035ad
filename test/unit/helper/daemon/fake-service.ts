// A stand-in for the engine, only to exercise the RPC layer: moves one GPU in memory, emitting
// the events a real switch would. Switching to `failTarget` rolls back.
import type { BatonService, HistoryQuery, ServiceEvent, StatusSnapshot, SwitchRequest, SwitchResult } from '../../../../app/domain/switch/service.js';
import type { PciAddress } from '../../../../app/domain/pci-address.js';

export class FakeService implements BatonService {
  owner = 'host';
  failTarget = 'broken';
  readonly calls: SwitchRequest[] = [];
  readonly entries: Record<string, unknown>[] = [];
  /** How long each switch takes; a few ms unless a test needs it longer. */
  switchDelayMs = 2;
  /** Set by a test that must hold switches in flight: each switch waits for it instead of the delay. */
  gate: Promise<void> | null = null;
  historyCalls = 0;
  findings: string[] = [];
  private readonly listeners = new Set<(event: ServiceEvent) => void>();

  async status(): Promise<StatusSnapshot> {
    const address = '0000:01:00.0' as PciAddress;
    return {
      gpus: [{ name: 'gpu0', address, owner: this.owner, functions: [address], busy: false }],
      vms: [{ name: 'win', backend: 'qmp', state: 'running', raw: 'running' }],
      disagreements: [],
    };
  }

  async switchGpu(request: SwitchRequest): Promise<SwitchResult> {
    this.calls.push(request);
    const switchId = `s${this.calls.length}`;
    const from = this.owner;
    const failed = request.target === this.failTarget;
    const startedAt = new Date().toISOString();
    this.emit({ kind: 'switch-started', switchId, gpu: request.gpu, from, to: request.target, requestedBy: request.requestedBy });
    this.emit({ kind: 'step-started', switchId, step: 'claim', detail: 'to vfio-pci', at: startedAt });
    await (this.gate ?? new Promise((resolve) => setTimeout(resolve, this.switchDelayMs)));
    this.emit({ kind: 'step-ended', switchId, step: 'claim', outcome: failed ? 'failed' : 'ok', ms: 2, ...(failed ? { error: 'device busy' } : {}) });
    if (!failed) this.owner = request.target;
    const outcome = failed ? 'rolled-back' : 'succeeded';
    this.emit({ kind: 'switch-ended', switchId, outcome, owner: this.owner });
    const steps = [{ name: 'claim', outcome: failed ? 'failed' : 'ok', ms: 2 }];
    const rolledBack = failed ? [`give ${request.gpu} back to ${from}`] : [];
    this.entries.unshift({ id: switchId, gpu: request.gpu, from, to: request.target, requestedBy: request.requestedBy, outcome, startedAt, steps, rolledBack });
    return { switchId, outcome, owner: this.owner, ...(failed ? { error: 'claim failed: device busy' } : {}) };
  }

  async history(query: HistoryQuery): Promise<{ entries: unknown[]; total: number }> {
    this.historyCalls++;
    const matching = this.entries.filter((e) => (!query.gpu || e.gpu === query.gpu) && (!query.vm || e.from === query.vm || e.to === query.vm));
    return { entries: matching.slice(query.offset ?? 0, (query.offset ?? 0) + (query.limit ?? 50)), total: matching.length };
  }

  async reconcile(): Promise<string[]> {
    return this.findings;
  }

  subscribe(listener: (event: ServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ServiceEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
