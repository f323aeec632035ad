// Desk snapshots for main's tests, built small and checked by the protocol's own schema (a
// fixture that drifts from app/protocol/desk.ts fails here, not silently in a test).
import { deskEventSchema, deskSnapshotSchema, type DeskEvent, type DeskGpu, type DeskHistoryEntry, type DeskSnapshot } from '../../../app/protocol/desk.js';

const stats = { total: 0, attempted: 0, byOutcome: { succeeded: 0, failed: 0, 'rolled-back': 0, parked: 0, superseded: 0 }, successRate: null, medianMs: null, p95Ms: null };

export function gpu(name: string, address: string, over: Partial<DeskGpu> = {}): DeskGpu {
  return {
    name,
    address: address as DeskGpu['address'],
    match: `address ${address}`,
    present: true,
    vendor: '10de',
    device: '2204',
    vendorName: 'NVIDIA',
    deviceName: 'GA102',
    iommuGroup: 8,
    functions: [],
    reset: 'auto',
    kernelResetMethods: ['flr'],
    bootVga: false,
    assignable: true,
    problems: [],
    owner: 'host',
    busy: false,
    targets: ['win11', 'linux-dev', 'host', 'park'],
    current: null,
    last: null,
    monitors: [],
    ...over,
  };
}

const vm = (name: string, state: 'running' | 'shut-off') => ({
  name,
  backend: 'qmp' as const,
  state,
  raw: state,
  gpus: [],
  devices: [],
  release: { method: 'hot-unplug' as const, timeoutSeconds: 30 },
  acquire: 'hot-plug' as const,
});

export function desk(over: Partial<DeskSnapshot> = {}, revision = 1): DeskSnapshot {
  return deskSnapshotSchema.parse({
    revision,
    at: '2026-12-01T20:00:00Z',
    helper: { version: '0.1.0', simulated: true },
    gpus: [gpu('gpu-a', '0000:01:00.0')],
    monitors: [],
    vms: [vm('win11', 'running'), vm('linux-dev', 'shut-off')],
    stats: { overall: stats, byGpu: [], byPair: [] },
    historyTotal: 0,
    config: { file: null, effective: {}, shortcuts: [], findings: [] },
    disagreements: [],
    ...over,
  });
}

export function entry(over: Partial<DeskHistoryEntry>): DeskHistoryEntry {
  return {
    id: 'sw-1',
    gpu: 'gpu-a',
    gpuAddress: '0000:01:00.0' as DeskHistoryEntry['gpuAddress'],
    from: 'host',
    to: 'win11',
    requestedBy: 'tray',
    startedAt: '2026-12-01T20:00:00Z',
    endedAt: '2026-12-01T20:00:04Z',
    durationMs: 4200,
    outcome: 'succeeded',
    steps: [],
    rolledBack: [],
    finalOwner: 'win11',
    ...over,
  };
}

export function event(e: unknown): DeskEvent {
  return deskEventSchema.parse(e);
}
