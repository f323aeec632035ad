// Captured sysfs trees (test/fixtures/sysfs/*.tar.gz, see the README there) for unit tests:
// each is extracted once per process into a temporary folder usable as `--sysfs DIR`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export const SYSFS_FIXTURES = ['workstation', 'workstation-vfio', 'dense'] as const;
export type SysfsFixture = (typeof SYSFS_FIXTURES)[number];

const extracted = new Map<SysfsFixture, string>();

/** The folder holding the extracted tree: DIR/bus/pci/devices, DIR/devices/pci0000:00, DIR/kernel/iommu_groups, DIR/class/drm. */
export function extractSysfsFixture(shape: SysfsFixture): string {
  const known = extracted.get(shape);
  if (known) return known;
  const tarball = join(REPO_ROOT, 'test/fixtures/sysfs', `${shape}.tar.gz`);
  if (!existsSync(tarball)) throw new Error(`sysfs fixture ${tarball} missing (regenerate with npm run lab:capture)`);
  const dir = mkdtempSync(join(tmpdir(), `baton-sysfs-${shape}-`));
  execFileSync('tar', ['-xzf', tarball, '-C', dir], { timeout: 60_000 });
  extracted.set(shape, dir);
  if (extracted.size === 1) process.once('exit', () => { for (const d of extracted.values()) rmSync(d, { recursive: true, force: true }); });
  return dir;
}
