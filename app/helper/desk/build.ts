// Builds the desk snapshot from what the helper knows at one moment: the inventory, the service's
// status, the switches under way, the history and the config. Pure but for the monitor memory,
// which it updates with what it sees (so a GPU that leaves keeps its monitors on the desk).
import { connectorsOfGpu, shortcutGpu, targetNames, type BatonConfig, type GpuConfig } from '../../domain/config/index.js';
import { configuredGpu } from '../../domain/handoff/policy.js';
import { durationMs, type HistoryEntry } from '../../domain/history/entry.js';
import type { HistoryStats } from '../../domain/history/stats.js';
import type { FunctionSummary, Gpu, Inventory, Monitor } from '../../domain/inventory/model.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { StatusSnapshot } from '../../domain/switch/service.js';
import type { DeskCurrentSwitch, DeskFinding, DeskFunction, DeskGpu, DeskLastOutcome, DeskMonitor, DeskSnapshot, DeskVm } from '../../protocol/desk.js';
import type { MonitorMemory, RememberedMonitor } from './monitor-memory.js';

export interface DeskInputs {
  revision: number;
  at: Date;
  helper: { version: string; simulated: boolean };
  config: BatonConfig;
  configFile: string | null;
  inventory: Inventory;
  status: StatusSnapshot;
  stats: HistoryStats;
  historyTotal: number;
  /** The newest history entry of a GPU, if any. */
  lastOf(gpu: string): HistoryEntry | null;
  currentOf(gpu: string): DeskCurrentSwitch | null;
  memory: MonitorMemory;
  findings: DeskFinding[];
}

// The PCI class words a user needs for a GPU's functions (the rest stay the bare code).
const CLASS_NAMES: Record<string, string> = {
  '0x0300': 'VGA compatible controller',
  '0x0302': '3D controller',
  '0x0380': 'Display controller',
  '0x0401': 'Multimedia audio controller',
  '0x0403': 'Audio device',
  '0x0c03': 'USB controller',
  '0x0c80': 'Serial bus controller',
  '0x0c05': 'SMBus',
};

export function className(pciClass: string | null): string | null {
  return pciClass === null ? null : (CLASS_NAMES[pciClass.slice(0, 6).toLowerCase()] ?? null);
}

function deskFunction(f: FunctionSummary, role: DeskFunction['role'], inventory: Inventory): DeskFunction {
  const full = inventory.functions.find((x) => x.address === f.address);
  return {
    address: f.address,
    class: f.class,
    className: className(f.class),
    vendor: f.vendor,
    device: f.device,
    vendorName: full?.vendorName ?? null,
    deviceName: full?.deviceName ?? f.name,
    driver: f.driver,
    role,
  };
}

function matchText(config: GpuConfig): string {
  return config.match.by === 'address' ? `address ${config.match.address}` : `ids ${config.match.vendor}:${config.match.device}${config.match.subsystem ? ` subsystem ${config.match.subsystem}` : ''}`;
}

function lastOutcome(entry: HistoryEntry | null): DeskLastOutcome | null {
  if (!entry) return null;
  return {
    switchId: entry.id,
    from: entry.from,
    to: entry.to,
    requestedBy: entry.requestedBy,
    outcome: entry.outcome,
    startedAt: entry.startedAt,
    endedAt: entry.endedAt,
    durationMs: durationMs(entry),
    finalOwner: entry.finalOwner,
    ...(entry.error !== undefined ? { error: entry.error } : {}),
    failedStep: entry.steps.find((s) => s.outcome === 'failed')?.name ?? null,
    rolledBack: entry.rolledBack,
  };
}

function remembered(m: Monitor, seenAt: string): RememberedMonitor {
  return {
    connector: m.connector,
    edidName: m.name,
    manufacturerId: m.manufacturerId,
    productCode: m.productCode,
    serial: m.serialText ?? (m.serialNumber ? String(m.serialNumber) : null),
    preferredMode: m.mode,
    status: m.status,
    seenAt,
  };
}

interface Placed {
  monitor: RememberedMonitor;
  presence: DeskMonitor['presence'];
  gpu: string | null;
  gpuAddress: PciAddress | null;
  shows: string | null;
}

export function buildDeskSnapshot(inputs: DeskInputs): DeskSnapshot {
  const { config, inventory, status, memory } = inputs;
  const at = inputs.at.toISOString();
  const targets = [...targetNames(config)];
  const placed: Placed[] = [];
  const claimed = new Set<PciAddress>();

  const gpus: DeskGpu[] = config.gpus.map((gc) => {
    const found: Gpu | undefined = inventory.gpus.find((g) => configuredGpu([gc], g) === gc);
    const state = status.gpus.find((g) => g.name === gc.name);
    const owner = state?.owner ?? 'host';
    if (found) claimed.add(found.address);
    const movable = new Set<string>(gc.movablePeers);
    const functions = found
      ? [
          ...found.functions.map((f, i) => deskFunction(f, i === 0 ? 'display' : 'companion', inventory)),
          ...found.groupPeers.map((f) => deskFunction(f, movable.has(f.address) ? 'movable-peer' : 'peer', inventory)),
        ]
      : [];

    // Monitors: what the host's DRM driver shows now, else what was seen last while the GPU is away.
    const seenNow = (found?.monitors ?? []).filter((m) => m.status !== 'disconnected').map((m) => remembered(m, at));
    const away = owner !== 'host' || !found || found.driver === 'vfio-pci' || found.driver === null;
    memory.observe(gc.name, seenNow, away);
    const shown = seenNow.length ? seenNow : away ? memory.lastSeen(gc.name) : [];
    for (const m of shown) placed.push({ monitor: m, presence: seenNow.length ? 'now' : 'remembered', gpu: gc.name, gpuAddress: found?.address ?? null, shows: owner });
    for (const connector of connectorsOfGpu(config, gc.name)) {
      if (!shown.some((m) => m.connector === connector)) {
        placed.push({ monitor: blank(connector), presence: 'configured', gpu: gc.name, gpuAddress: found?.address ?? null, shows: owner });
      }
    }

    return {
      name: gc.name,
      address: found?.address ?? null,
      match: matchText(gc),
      present: found !== undefined,
      vendor: found?.vendor ?? null,
      device: found?.device ?? null,
      vendorName: functions[0]?.vendorName ?? null,
      deviceName: functions[0]?.deviceName ?? null,
      iommuGroup: found?.iommuGroup ?? null,
      functions,
      reset: gc.reset,
      kernelResetMethods: found?.resetMethods ?? [],
      bootVga: found?.bootVga ?? false,
      assignable: found?.assignable ?? false,
      problems: found ? found.problems : [`not on the PCI bus (the config finds it by ${matchText(gc)})`],
      owner,
      busy: state?.busy ?? false,
      targets,
      current: inputs.currentOf(gc.name),
      last: lastOutcome(inputs.lastOf(gc.name)),
      monitors: [...new Set(placed.filter((p) => p.gpu === gc.name).map((p) => p.monitor.connector))],
    };
  });
  memory.keepOnly(config.gpus.map((g) => g.name));

  // The host's own screens (the boot GPU and any other the config leaves alone) are on the desk too.
  for (const g of inventory.gpus) {
    if (claimed.has(g.address)) continue;
    for (const m of g.monitors) {
      if (m.status !== 'disconnected') placed.push({ monitor: remembered(m, at), presence: 'now', gpu: null, gpuAddress: g.address, shows: 'host' });
    }
  }

  const monitors: DeskMonitor[] = placed.map((p) => ({
    connector: p.monitor.connector,
    label: config.monitors.find((m) => m.connector === p.monitor.connector)?.name ?? null,
    edidName: p.monitor.edidName,
    manufacturerId: p.monitor.manufacturerId,
    productCode: p.monitor.productCode,
    serial: p.monitor.serial,
    preferredMode: p.monitor.preferredMode,
    gpu: p.gpu,
    gpuAddress: p.gpuAddress,
    shows: p.shows,
    status: p.presence === 'now' ? p.monitor.status : null,
    presence: p.presence,
    lastSeenAt: p.presence === 'remembered' ? p.monitor.seenAt : null,
  }));

  const vms: DeskVm[] = config.vms.map((vc) => {
    const state = status.vms.find((v) => v.name === vc.name);
    const held = status.gpus.filter((g) => g.owner === vc.name);
    return {
      name: vc.name,
      backend: vc.backend,
      state: state?.state ?? 'unknown',
      raw: state?.raw ?? 'not reported',
      gpus: held.map((g) => g.name),
      devices: held.flatMap((g) => g.functions),
      release: { method: vc.release.method, timeoutSeconds: vc.release.timeoutSeconds },
      acquire: vc.acquire,
    };
  });

  return {
    revision: inputs.revision,
    at,
    helper: inputs.helper,
    gpus,
    monitors,
    vms,
    stats: inputs.stats,
    historyTotal: inputs.historyTotal,
    config: {
      file: inputs.configFile,
      effective: JSON.parse(JSON.stringify(config)) as Record<string, unknown>,
      shortcuts: config.shortcuts.map((s) => ({ keys: s.keys, gpu: shortcutGpu(config, s)?.name ?? null, target: s.target })),
      findings: inputs.findings,
    },
    disagreements: status.disagreements,
  };
}

function blank(connector: string): RememberedMonitor {
  return { connector, edidName: null, manufacturerId: null, productCode: null, serial: null, preferredMode: null, status: null, seenAt: '' };
}
