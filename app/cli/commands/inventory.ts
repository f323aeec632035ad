// `baton inventory`: the GPUs, their companions, IOMMU groups, monitors and assignability.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Gpu, Inventory } from '../../domain/inventory/model.js';
import { readInventory } from '../../host/inventory.js';
import { printJson, printLines, table, UserError } from '../output.js';

/** A folder to read as /sys must be one: a wrong --sysfs is an error, not an empty machine. */
export function checkSysfsRoot(root: string): void {
  let st;
  try {
    st = statSync(root);
  } catch (err) {
    throw new UserError(`--sysfs ${root}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : ((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`);
  }
  if (!st.isDirectory()) throw new UserError(`--sysfs ${root}: not a folder`);
  if (!existsSync(join(root, 'bus/pci/devices'))) throw new UserError(`--sysfs ${root}: not a sysfs tree (it has no bus/pci/devices)`);
}

export function registerInventory(program: Command): void {
  program
    .command('inventory')
    .description('list GPUs, their functions, IOMMU groups and monitors, and whether each can be handed to a VM (read-only)')
    .option('--json', 'print one JSON object')
    .option('--sysfs <dir>', 'read this folder as /sys (a capture, a test tree)', '/sys')
    .action((opts: { json?: boolean; sysfs: string }) => {
      checkSysfsRoot(opts.sysfs);
      const inventory = readInventory({ sysfsRoot: opts.sysfs });
      if (opts.json) printJson(inventory);
      else printLines(renderInventory(inventory));
    });
}

export function renderInventory(inv: Inventory): string[] {
  const lines: string[] = [];
  const yesNo = (b: boolean | null) => (b === null ? 'unknown' : b ? 'yes' : 'no');
  lines.push(`IOMMU: ${inv.vfio.iommuEnabled ? `on, ${inv.iommuGroups.length} groups` : 'off'}   vfio-pci loaded: ${yesNo(inv.vfio.vfioPciLoaded)}   /dev/vfio: ${yesNo(inv.vfio.devVfio)}`);
  if (inv.gpus.length === 0) lines.push('', 'No GPU (display-class PCI function) found.');
  for (const gpu of inv.gpus) lines.push('', ...renderGpu(gpu));
  if (inv.problems.length) lines.push('', 'Problems reading the tree:', ...inv.problems.map((p) => `  - ${p}`));
  return lines;
}

function renderGpu(gpu: Gpu): string[] {
  const head = `GPU ${gpu.address}  ${gpu.name ?? `${gpu.vendor}:${gpu.device}`}`;
  const facts = [
    `IOMMU group ${gpu.iommuGroup ?? 'none'}`,
    `driver ${gpu.driver ?? 'none'}`,
    gpu.bootVga ? 'boot VGA' : null,
    `reset ${gpu.resetMethods.join('/') || 'none'}`,
    gpu.romPresent ? 'ROM' : 'no ROM',
  ].filter(Boolean);
  const lines = [head, `  ${facts.join(' · ')}`, `  assignable: ${gpu.assignable ? 'yes' : 'no'}`];
  for (const r of gpu.reasons) lines.push(`    ${r.severity === 'blocker' ? '✗' : '!'} ${r.message}`);
  for (const p of gpu.problems.filter((p) => !gpu.reasons.some((r) => r.message === p))) lines.push(`    ✗ ${p}`);
  const rows = [['', 'ADDRESS', 'CLASS', 'DRIVER', 'NAME']];
  for (const f of gpu.functions) rows.push(['  function', f.address, f.class ?? '?', f.driver ?? '-', f.name ?? '']);
  for (const f of gpu.groupPeers) rows.push(['  peer', f.address, f.class ?? '?', f.driver ?? '-', f.name ?? '']);
  for (const f of gpu.bridges) rows.push(['  bridge', f.address, f.class ?? '?', f.driver ?? '-', f.name ?? '']);
  lines.push(...table(rows));
  for (const m of gpu.monitors) {
    const shown = [m.status ?? 'status unknown', m.name ? `"${m.name}"` : null, m.preferredMode].filter(Boolean).join(' ');
    lines.push(`  monitor ${m.connector}: ${shown}`);
  }
  return lines;
}
