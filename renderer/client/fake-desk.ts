// Desks and histories made up in memory, for component tests, the benchmarks and the fake client:
// the simulated workstation's shape (two GPUs, three VMs) by default, any size on request.
import type { DeskGpu, DeskHistoryEntry, DeskMonitor, DeskSnapshot, DeskVm } from '../../app/protocol/desk.js';
import type { PciAddress } from '../../app/domain/pci-address.js';

export interface FakeDeskOptions {
  gpus?: number;
  vms?: number;
  monitorsPerGpu?: number;
  /** Owner of GPU i (default: host for all). */
  owners?: string[];
  historyTotal?: number;
}

const BACKENDS = ['qmp', 'libvirt', 'xen'] as const;
const MODES = [
  { width: 1920, height: 1080, refreshHz: 60 },
  { width: 2560, height: 1440, refreshHz: 144 },
  { width: 3440, height: 1440, refreshHz: 100 },
  { width: 1080, height: 1920, refreshHz: 60 },
];

function address(i: number, fn = 0): PciAddress {
  return `0000:${(i + 1).toString(16).padStart(2, '0')}:00.${fn}` as PciAddress;
}

export function fakeVmNames(n: number): string[] {
  if (n === 3) return ['win11', 'linux-dev', 'vm-xen'];
  return Array.from({ length: n }, (_, i) => `vm-${String(i + 1).padStart(2, '0')}`);
}

export function fakeGpuNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `gpu-${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}`);
}

/** A consistent desk: each GPU's owner holds its functions, each monitor shows its GPU's owner. */
export function fakeDesk(options: FakeDeskOptions = {}): DeskSnapshot {
  const gpuNames = fakeGpuNames(options.gpus ?? 2);
  const vmNames = fakeVmNames(options.vms ?? 3);
  const perGpu = options.monitorsPerGpu ?? 1;
  const owners = gpuNames.map((_, i) => options.owners?.[i] ?? 'host');
  const monitors: DeskMonitor[] = [];
  const gpus: DeskGpu[] = gpuNames.map((name, i) => {
    const owner = owners[i]!;
    const connectors: string[] = [];
    for (let m = 0; m < perGpu; m++) {
      const connector = `card${i + 1}-DP-${m + 1}`;
      connectors.push(connector);
      const away = owner !== 'host';
      monitors.push({
        connector,
        label: m === 0 ? (i === 0 ? 'Left' : i === 1 ? 'Right' : `Screen ${i + 1}`) : `Screen ${i + 1}.${m + 1}`,
        edidName: i % 2 === 0 ? 'DELL U2720Q' : 'LG 27GL850',
        manufacturerId: i % 2 === 0 ? 'DEL' : 'GSM',
        productCode: 41_000 + i,
        serial: `SN${1000 + i * 10 + m}`,
        preferredMode: MODES[(i + m) % MODES.length]!,
        gpu: name,
        gpuAddress: address(i),
        shows: owner,
        status: away ? null : 'connected',
        presence: away ? 'remembered' : 'now',
        lastSeenAt: away ? '2026-12-01T18:00:00.000Z' : null,
      });
    }
    return {
      name,
      address: address(i),
      match: `address ${address(i)}`,
      present: true,
      vendor: '0x10de',
      device: i % 2 === 0 ? '0x2204' : '0x2484',
      vendorName: 'NVIDIA Corporation',
      deviceName: i % 2 === 0 ? 'GA102 [GeForce RTX 3090]' : 'GA104 [GeForce RTX 3070]',
      iommuGroup: 8 + i,
      functions: [
        { address: address(i, 0), class: '0x030000', className: 'VGA compatible controller', vendor: '0x10de', device: '0x2204', vendorName: 'NVIDIA Corporation', deviceName: 'GA102', driver: owner === 'host' ? 'nvidia' : 'vfio-pci', role: 'display' },
        { address: address(i, 1), class: '0x040300', className: 'Audio device', vendor: '0x10de', device: '0x1aef', vendorName: 'NVIDIA Corporation', deviceName: 'GA102 HD Audio', driver: owner === 'host' ? 'snd_hda_intel' : 'vfio-pci', role: 'companion' },
      ],
      reset: 'auto',
      kernelResetMethods: ['flr', 'bus'],
      bootVga: false,
      assignable: true,
      problems: [],
      owner,
      busy: false,
      targets: [...vmNames, 'host', 'park'],
      current: null,
      last: null,
      monitors: connectors,
    };
  });
  const vms: DeskVm[] = vmNames.map((name, i) => {
    const held = gpuNames.filter((_, g) => owners[g] === name);
    return {
      name,
      backend: BACKENDS[i % 3]!,
      state: i % 3 === 2 ? 'shut-off' : 'running',
      raw: i % 3 === 2 ? 'shut off' : 'running',
      gpus: held,
      devices: held.flatMap((g) => { const gi = gpuNames.indexOf(g); return [address(gi, 0), address(gi, 1)]; }),
      release: i % 3 === 2 ? { method: 'shutdown', timeoutSeconds: 60 } : { method: 'hot-unplug', timeoutSeconds: 20 },
      acquire: i % 3 === 2 ? 'start' : 'hot-plug',
    };
  });
  const zero = { succeeded: 0, failed: 0, 'rolled-back': 0, parked: 0, superseded: 0 };
  const none = { total: 0, attempted: 0, byOutcome: zero, successRate: null, medianMs: null, p95Ms: null };
  return {
    revision: 1,
    at: '2026-12-01T20:00:00.000Z',
    helper: { version: '0.1.0', simulated: true },
    gpus,
    monitors,
    vms,
    stats: { overall: none, byGpu: [], byPair: [] },
    historyTotal: options.historyTotal ?? 0,
    config: {
      file: null,
      effective: { version: 1, gpus: gpuNames.map((name, i) => ({ name, match: { address: address(i) }, reset: 'auto' })), vms: vmNames.map((name) => ({ name })) },
      shortcuts: [
        { keys: 'Super+Alt+1', gpu: gpuNames[0] ?? null, target: vmNames[0] ?? 'host' },
        { keys: 'Super+Alt+H', gpu: gpuNames[0] ?? null, target: 'host' },
        { keys: 'Super+Alt+P', gpu: gpuNames[1] ?? null, target: 'park' },
      ],
      findings: [
        { severity: 'warning', file: '/etc/baton/baton.yaml', line: 12, col: 5, path: 'monitors[1].ddc', message: 'monitor card2-DP-1 has no DDC bus: its input is not switched' },
      ],
    },
    disagreements: [],
  };
}

const OUTCOME_CYCLE = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'rolled-back', 'failed', 'parked', 'superseded'] as const;
const REQUESTERS = ['tray', 'shortcut', 'cli', 'browser', 'recovery'] as const;

/** `n` history entries, newest first, deterministic. */
export function fakeHistory(n: number, gpuNames = fakeGpuNames(2), vmNames = fakeVmNames(3), newest = Date.parse('2026-12-01T20:00:00Z')): DeskHistoryEntry[] {
  const parties = ['host', ...vmNames];
  const entries: DeskHistoryEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const outcome = OUTCOME_CYCLE[(i * 7) % OUTCOME_CYCLE.length]!;
    const from = parties[i % parties.length]!;
    const to = parties[(i + 1) % parties.length]!;
    const started = newest - i * 60_000;
    const steps = outcome === 'superseded' ? [] : [
      { name: 'release', outcome: 'ok' as const, ms: 400 + (i % 13) * 37 },
      { name: 'claim', outcome: 'ok' as const, ms: 120 + (i % 7) * 11 },
      { name: 'reset', outcome: 'ok' as const, ms: 900 + (i % 17) * 23 },
      outcome === 'succeeded'
        ? { name: 'attach', outcome: 'ok' as const, ms: 700 + (i % 11) * 41 }
        : { name: 'attach', outcome: 'failed' as const, ms: 10_000, error: `${to} did not accept the device within 10 s` },
      ...(outcome === 'succeeded' ? [{ name: 'verify', outcome: 'ok' as const, ms: 80 }] : []),
    ];
    const duration = steps.reduce((s, x) => s + x.ms, 0);
    const gpu = gpuNames[i % gpuNames.length]!;
    entries[i] = {
      id: `sw-${String(n - i).padStart(7, '0')}`,
      gpu,
      gpuAddress: address(gpuNames.indexOf(gpu)),
      from,
      to,
      requestedBy: REQUESTERS[i % REQUESTERS.length]!,
      startedAt: new Date(started).toISOString(),
      endedAt: new Date(started + duration).toISOString(),
      durationMs: duration,
      outcome,
      steps,
      ...(outcome === 'succeeded' || outcome === 'superseded' ? {} : { error: `attach: ${to} did not accept the device within 10 s` }),
      rolledBack: outcome === 'rolled-back' ? ['claim', 'release'] : [],
      finalOwner: outcome === 'succeeded' ? to : outcome === 'parked' ? 'park' : outcome === 'failed' ? 'park' : from,
    };
  }
  return entries;
}
