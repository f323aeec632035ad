// Small questions the rest of Baton asks of a checked config.
import { parsePciAddress } from '../pci-address.js';
import type { BatonConfig, GpuConfig, MonitorConfig, VmConfig } from './schema.js';

/** A GPU by name, or by the address it is matched at ("01:00.0" works too). */
export function findGpu(config: BatonConfig, nameOrAddress: string): GpuConfig | undefined {
  const byName = config.gpus.find((g) => g.name === nameOrAddress);
  if (byName) return byName;
  const address = parsePciAddress(nameOrAddress);
  if (!address) return undefined;
  return config.gpus.find((g) => (g.match.by === 'address' && g.match.address === address) || g.movablePeers.includes(address));
}

export function findVm(config: BatonConfig, name: string): VmConfig | undefined {
  return config.vms.find((v) => v.name === name);
}

export type Target = { kind: 'host' } | { kind: 'park' } | { kind: 'vm'; vm: VmConfig };

/** "host", "park" or a VM name → what it means; undefined when it names nothing. */
export function resolveTarget(config: BatonConfig, name: string): Target | undefined {
  if (name === 'host') return { kind: 'host' };
  if (name === 'park') return { kind: 'park' };
  const vm = findVm(config, name);
  return vm ? { kind: 'vm', vm } : undefined;
}

/** Every name a GPU can be moved to. */
export function targetNames(config: BatonConfig): string[] {
  return ['host', 'park', ...config.vms.map((v) => v.name)];
}

/** A monitor by connector or by name. */
export function findMonitor(config: BatonConfig, connectorOrName: string): MonitorConfig | undefined {
  return config.monitors.find((m) => m.connector === connectorOrName) ?? config.monitors.find((m) => m.name === connectorOrName);
}

/** Connectors on a GPU: those listed under it and those whose monitor names it. */
export function connectorsOfGpu(config: BatonConfig, gpuName: string): string[] {
  const gpu = config.gpus.find((g) => g.name === gpuName);
  const fromMonitors = config.monitors.filter((m) => m.gpu === gpuName).map((m) => m.connector);
  return [...new Set([...(gpu?.monitors ?? []), ...fromMonitors])];
}

/** The DDC/CI input (VCP 0x60 value) that shows `target` on the monitor, if configured. */
export function ddcInputFor(monitor: MonitorConfig, target: string): number | undefined {
  return monitor.ddc?.inputs[target];
}

/** The GPU a shortcut moves: its own, or the only one configured. */
export function shortcutGpu(config: BatonConfig, shortcut: BatonConfig['shortcuts'][number]): GpuConfig | undefined {
  return shortcut.gpu === undefined ? (config.gpus.length === 1 ? config.gpus[0] : undefined) : findGpu(config, shortcut.gpu);
}

/** Counts for a one-line summary ("2 GPUs, 3 VMs, ..."). */
export function configSummary(config: BatonConfig): { gpus: number; vms: number; monitors: number; shortcuts: number } {
  return { gpus: config.gpus.length, vms: config.vms.length, monitors: config.monitors.length, shortcuts: config.shortcuts.length };
}

/** The inputs that follow a GPU into a VM: its own list, else inputs.follow (checks.ts makes sure
 *  that default serves at most one GPU). */
export function inputsOfGpu(config: BatonConfig, gpuName: string): BatonConfig['inputs']['devices'] {
  const gpu = config.gpus.find((g) => g.name === gpuName);
  if (!gpu) return [];
  const names = gpu.inputs ?? config.inputs.follow;
  return names.map((n) => config.inputs.devices.find((d) => d.name === n)).filter((d) => d !== undefined);
}
