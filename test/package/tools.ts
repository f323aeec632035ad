// Why the package tests cannot run here, or null when they can (test/package/check-tools.sh holds
// the list). Under CI=true a missing tool is a failure with its reason, never a pass.
import { spawnSync } from 'node:child_process';

export function packageTestBlocker(): string | null {
  const r = spawnSync('sh', [new URL('./check-tools.sh', import.meta.url).pathname], { encoding: 'utf8' });
  return r.status === 0 ? null : r.stdout.trim() || `check-tools.sh failed (${r.status ?? r.signal})`;
}
