// Copies the raw outputs of a lab run that parsers are tested against into test/fixtures/xen/.
// Only on request (BATON_XEN_SAVE_FIXTURES=1): a normal lab run never rewrites tracked files.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES_DIR = resolve(import.meta.dirname, '../../fixtures/xen');

/** Share file name → fixture file name. */
const FIXTURE_FILES: Record<string, string> = {
  'xl-info.out': 'xl-info.txt',
  'xl-list.out': 'xl-list.txt',
  'xl-list-paused.out': 'xl-list-paused.txt',
  'xl-list-l.out': 'xl-list-l.json',
  'xl-pci-assignable-list.out': 'xl-pci-assignable-list.txt',
  'assignable-add-vga.err': 'xl-pci-assignable-add-unbound.stderr.txt',
  'attach-vm-a.err': 'xl-pci-attach-reset-enotty.stderr.txt',
  'xl-pci-list-vm-a.out': 'xl-pci-list-attached.txt',
  'xl-pci-assignable-list-attached.out': 'xl-pci-assignable-list-while-attached.txt',
  'xl-list-l-attached.out': 'xl-list-l-vm-a-attached.json',
  'attach-hda-vm-b.err': 'xl-pci-attach-second-function.stderr.txt',
  'xl-pci-list-vm-a-after-detach.out': 'xl-pci-list-empty.txt',
  'xenstore-backend-attached.out': 'xenstore-ls-backend-pci-attached.txt',
  'xenstore-backend-detached.err': 'xenstore-ls-backend-pci-detached.stderr.txt',
  'detach-paused-vm-a.err': 'xl-pci-detach-paused.stderr.txt',
  'xl-pci-list-vm-a-paused.out': 'xl-pci-list-after-paused-detach.txt',
  'xenstore-backend-paused.out': 'xenstore-ls-backend-pci-paused-detach.txt',
  'detach-force-vm-a.err': 'xl-pci-detach-force-paused.stderr.txt',
  'xenstore-backend-vm-b.out': 'xenstore-ls-backend-pci-moved.txt',
  'xl-pci-list-vm-b.out': 'xl-pci-list-two-functions.txt',
  'xl-pci-list-vm-a-end.out': 'xl-pci-list-stale.txt',
  'steps.txt': 'steps.txt',
  'gpu.txt': 'gpu.txt',
  'guest-vm-a.log': 'guest-vm-a-console.txt',
  'guest-vm-b.log': 'guest-vm-b-console.txt',
};

export function saveFixtures(shareDir: string): string[] {
  mkdirSync(FIXTURES_DIR, { recursive: true });
  // The set is replaced as a whole so no capture from an older run lingers; the README stays.
  for (const old of readdirSync(FIXTURES_DIR)) if (old !== 'README.md') rmSync(join(FIXTURES_DIR, old));
  const saved: string[] = [];
  for (const [from, to] of Object.entries(FIXTURE_FILES)) {
    const source = join(shareDir, from);
    if (!existsSync(source)) continue;
    copyFileSync(source, join(FIXTURES_DIR, to));
    saved.push(to);
  }
  return saved;
}
