// Words shared by the tray menu and the notifications.
import type { Owner, StepName } from '../domain/switch/ports.js';

const STEP_LABELS: Record<StepName, string> = {
  release: 'releasing from the VM',
  claim: 'claiming for vfio-pci',
  reset: 'resetting',
  vbios: 'loading the VBIOS',
  attach: 'attaching',
  'return-to-host': 'returning to the host driver',
  'move-input': 'moving the keyboard and mouse',
  verify: 'verifying',
};

export function stepLabel(step: StepName): string {
  return STEP_LABELS[step];
}

export function describeOwner(owner: Owner): string {
  if (owner === 'host') return 'with the host';
  if (owner === 'park') return 'parked (vfio-pci, no owner)';
  return `with ${owner}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A step named by the history (a plain string there): its label when it is a known step. */
export function stepName(step: string): string {
  return Object.prototype.hasOwnProperty.call(STEP_LABELS, step) ? STEP_LABELS[step as StepName] : step;
}
