// The tray menu as a pure function of what main knows: the helper connection and the desk. Rebuilt
// whole on every change (Linux trays show a menu only as it was when set).
import type { Owner } from '../domain/switch/ports.js';
import type { ConnectionState } from '../protocol/ipc-schema.js';
import type { DeskGpu, DeskSnapshot } from '../protocol/desk.js';
import type { TrayIconState } from './tray-icons.js';
import { describeOwner, stepLabel, stepName } from './wording.js';

export type TrayMenuItem =
  | { kind: 'label'; label: string }
  | { kind: 'action'; id: string; label: string; enabled: boolean }
  | { kind: 'separator' }
  | { kind: 'submenu'; label: string; items: TrayMenuItem[] };

/** What a click on a menu item asks for; the id of an action item encodes one of these. */
export type TrayAction =
  | { type: 'switch'; gpu: string; target: Owner }
  | { type: 'open-window'; switchId?: string }
  | { type: 'reconnect' }
  | { type: 'quit' };

export interface TrayModel {
  icon: TrayIconState;
  tooltip: string;
  items: TrayMenuItem[];
}

export interface TrayInput {
  connection: ConnectionState;
  desk: DeskSnapshot | null;
  /** The socket main connects to, for the "what to do" lines. */
  socketPath: string;
  /** The group that may use the helper (helper.group). */
  group: string;
}

export function actionId(action: TrayAction): string {
  return JSON.stringify(action);
}

export function parseActionId(id: string): TrayAction | null {
  try {
    const a = JSON.parse(id) as TrayAction;
    return a && typeof a === 'object' && typeof a.type === 'string' ? a : null;
  } catch {
    return null;
  }
}

const action = (a: TrayAction, label: string, enabled = true): TrayMenuItem => ({ kind: 'action', id: actionId(a), label, enabled });
const separator: TrayMenuItem = { kind: 'separator' };

/** Where a GPU can go from where it is: the helper's targets for it (VMs, host, park) but where it is. */
export function targetsOf(gpu: DeskGpu): Owner[] {
  return gpu.targets.filter((t) => t !== gpu.owner);
}

/** The last switch of a GPU, when it did not succeed (a superseded request is no failure). */
export function lastFailure(gpu: DeskGpu): NonNullable<DeskGpu['last']> | null {
  const last = gpu.last;
  return last && last.outcome !== 'succeeded' && last.outcome !== 'superseded' ? last : null;
}

function targetLabel(target: Owner, desk: DeskSnapshot): string {
  if (target === 'host') return 'Return to the host';
  if (target === 'park') return 'Park (vfio-pci, no owner)';
  const vm = desk.vms.find((v) => v.name === target);
  return vm && vm.state !== 'running' ? `Move to ${target} (${vm.state.replace('-', ' ')})` : `Move to ${target}`;
}

function gpuItems(gpu: DeskGpu, desk: DeskSnapshot): TrayMenuItem[] {
  const where = gpu.present ? (gpu.address ?? '') : 'not found on the bus';
  const items: TrayMenuItem[] = [{ kind: 'label', label: `${gpu.name} (${where}): ${describeOwner(gpu.owner)}` }];
  if (gpu.current) {
    const step = gpu.current.step ? stepLabel(gpu.current.step.name) : gpu.current.steps.length ? 'between steps' : 'waiting to start';
    items.push(action({ type: 'open-window', switchId: gpu.current.switchId }, `Moving to ${gpu.current.to}: ${step}…`));
  } else if (gpu.busy) {
    items.push({ kind: 'label', label: 'A switch is under way' });
  }
  const failure = lastFailure(gpu);
  if (failure && !gpu.current) {
    const at = failure.failedStep ? ` while ${stepName(failure.failedStep)}` : '';
    const reason = failure.error ? `: ${truncate(failure.error, 80)}` : '';
    items.push(action({ type: 'open-window', switchId: failure.switchId }, `Last move to ${failure.to} failed${at}${reason}; now ${describeOwner(failure.finalOwner)}`));
  }
  const targets = targetsOf(gpu);
  const blocked = gpu.busy || !gpu.present;
  items.push({
    kind: 'submenu',
    label: gpu.busy ? 'Move to (after this switch)' : 'Move to',
    items: targets.length ? targets.map((t) => action({ type: 'switch', gpu: gpu.name, target: t }, targetLabel(t, desk), !blocked)) : [{ kind: 'label', label: 'No other target' }],
  });
  return items;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const common: TrayMenuItem[] = [action({ type: 'open-window' }, 'Open Baton'), action({ type: 'quit' }, 'Quit')];

export function buildTrayModel(input: TrayInput): TrayModel {
  const { connection, desk } = input;
  if (connection.kind !== 'connected' || !desk) {
    const lines = connectionLines(input);
    return {
      icon: connection.kind === 'connecting' || connection.kind === 'connected' ? 'idle' : 'error',
      tooltip: `Baton: ${lines[0]}`,
      items: [...lines.map((label): TrayMenuItem => ({ kind: 'label', label })), action({ type: 'reconnect' }, 'Try again now'), separator, ...common],
    };
  }
  const switching = desk.gpus.filter((g) => g.current || g.busy);
  const failed = desk.gpus.filter((g) => lastFailure(g));
  const icon: TrayIconState = switching.length ? 'switching' : failed.length ? 'error' : 'idle';
  const tooltip = desk.gpus.length
    ? `Baton: ${desk.gpus.map((g) => (g.current ? `${g.name} → ${g.current.to}` : `${g.name}: ${describeOwner(g.owner)}`)).join(', ')}`
    : 'Baton: no GPU configured';
  const items: TrayMenuItem[] = [];
  if (!desk.gpus.length) items.push({ kind: 'label', label: 'No GPU is configured (gpus: in /etc/baton/baton.yaml)' });
  for (const gpu of desk.gpus) items.push(...gpuItems(gpu, desk), separator);
  if (desk.disagreements.length) items.push({ kind: 'label', label: `${desk.disagreements.length} disagreement(s) between the registry and the machine: see the window` }, separator);
  items.push(...common);
  return { icon, tooltip, items };
}

/** What the user reads when there is no working connection: what is wrong and what to do. */
export function connectionLines(input: Pick<TrayInput, 'connection' | 'socketPath' | 'group'>): string[] {
  const c = input.connection;
  switch (c.kind) {
    case 'connecting':
      return ['Connecting to the helper…'];
    case 'connected':
      return ['Connected, waiting for the desk…'];
    case 'helper-down':
      return ['The Baton helper is not running', `Start it: sudo systemctl enable --now baton-helper.socket`, `(${c.message})`];
    case 'not-allowed':
      return ['You may not use the Baton helper', `Join the group: sudo usermod -aG ${input.group} $USER, then log out and in again`, `(${c.message})`];
    case 'error':
      return ['The helper connection failed', c.message];
  }
}
