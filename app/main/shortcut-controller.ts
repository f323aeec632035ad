// Global shortcuts from the config (as the helper sees it: DeskSnapshot.config.shortcuts), bound
// through the globalShortcut port at start and again whenever the config changes. Every shortcut
// gets a status: registered, failed (taken, or refused by the desktop), conflict (the same chord
// twice), invalid (not expressible, no GPU). The report goes to the window and to `baton doctor`.
import type { DeskGpu, DeskShortcut } from '../protocol/desk.js';
import type { ShortcutReport, ShortcutStatus } from '../protocol/ipc-schema.js';
import { toAccelerator } from './accelerator.js';
import type { Clock, GlobalShortcutPort } from './ports.js';

/** The shortcut target that moves a GPU on to its next target. */
export const CYCLE_TARGET = 'cycle';

/** Where "cycle" sends a GPU: the target after its owner in the helper's order (VMs, then host), never park. */
export function cycleTarget(gpu: Pick<DeskGpu, 'owner' | 'targets'>): string | null {
  const ring = gpu.targets.filter((t) => t !== 'park');
  if (!ring.length) return null;
  const here = ring.indexOf(gpu.owner);
  const next = ring[(here + 1) % ring.length] ?? null;
  return next === gpu.owner ? null : next;
}

export interface ShortcutControllerOptions {
  port: GlobalShortcutPort;
  session: ShortcutReport['session'];
  /** Wayland: bindings go through the GlobalShortcuts portal. */
  viaPortal: boolean;
  /** A shortcut was pressed: move `gpu` to `target` ("cycle" included; the caller resolves it). */
  trigger(gpu: string, target: string): void;
  clock: Clock;
}

const PORTAL_NOTE =
  'bound through the desktop\'s GlobalShortcuts portal: the desktop may have refused or changed it without telling Baton (electron#52218); if it does nothing, look in the desktop\'s keyboard shortcut settings';

export class ShortcutController {
  private bound: string[] = [];
  private lastKey: string | null = null;
  private reportNow: ShortcutReport;

  constructor(private readonly options: ShortcutControllerOptions) {
    this.reportNow = { session: options.session, viaPortal: options.viaPortal, shortcuts: [], at: null };
  }

  get report(): ShortcutReport {
    return this.reportNow;
  }

  /** Binds exactly these shortcuts (unbinding the previous ones); answers whether anything changed. */
  apply(shortcuts: DeskShortcut[]): boolean {
    const key = JSON.stringify(shortcuts);
    if (key === this.lastKey) return false;
    this.lastKey = key;
    this.unbindAll();
    const seen = new Map<string, string>();
    const statuses: ShortcutStatus[] = shortcuts.map((s) => this.bind(s, seen));
    this.reportNow = { session: this.options.session, viaPortal: this.options.viaPortal, shortcuts: statuses, at: new Date(this.options.clock()).toISOString() };
    return true;
  }

  unbindAll(): void {
    for (const accelerator of this.bound.splice(0)) this.options.port.unregister(accelerator);
  }

  private bind(s: DeskShortcut, seen: Map<string, string>): ShortcutStatus {
    const base = { keys: s.keys, gpu: s.gpu, target: s.target };
    const acc = toAccelerator(s.keys);
    if (!acc.ok) return { ...base, accelerator: null, status: 'invalid', message: acc.message };
    const accelerator = acc.accelerator;
    if (s.gpu === null) return { ...base, accelerator, status: 'invalid', message: 'it names no GPU the config has (add gpu: to the shortcut)' };
    const first = seen.get(accelerator);
    if (first !== undefined) return { ...base, accelerator, status: 'conflict', message: `the same chord as ${first}; only the first is bound` };
    seen.set(accelerator, `${s.keys} (${s.gpu} → ${s.target})`);
    const gpu = s.gpu;
    let ok: boolean;
    try {
      ok = this.options.port.register(accelerator, () => this.options.trigger(gpu, s.target));
    } catch (err) {
      return { ...base, accelerator, status: 'invalid', message: `Electron refused the accelerator: ${(err as Error).message}` };
    }
    if (!ok) {
      return {
        ...base,
        accelerator,
        status: 'failed',
        message: this.options.viaPortal ? 'the desktop refused the binding (GlobalShortcuts portal)' : 'another application holds this chord; choose another in shortcuts: of the config',
      };
    }
    this.bound.push(accelerator);
    return { ...base, accelerator, status: 'registered', message: this.options.viaPortal ? PORTAL_NOTE : null };
  }
}
