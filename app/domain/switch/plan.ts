// A switch as a list of steps, each with its undo, from the source's release strategy and the
// target's acquire strategy. Pure: the engine executes, the tests read the plan.
import type { HandoffPolicy } from '../handoff/policy.js';
import type { PciAddress } from '../pci-address.js';
import type { Owner, ResetMethodName, StepName } from './ports.js';

export interface PlanGpu {
  name: string;
  address: PciAddress;
  functions: PciAddress[];
  reset: ResetMethodName;
  vbios?: { source: 'file'; file: string } | { source: 'capture' };
  policy: HandoffPolicy;
  /** Config names of the inputs that follow this GPU (issue 12); none: no input step. */
  inputs?: readonly string[];
}

export interface PlanVm {
  name: string;
  release: { method: 'hot-unplug' | 'shutdown' | 'force-detach'; timeoutSeconds: number; forceAfterSeconds?: number };
  acquire: 'hot-plug' | 'start';
  guestSlot?: { bus?: string; addr: number };
  /** Guest slots for the devices of other host slots that move with the GPU, in order. */
  peerSlots?: { bus?: string; addr: number }[];
}

export type PlannedStep =
  /** forceAfterMs (shutdown only): the VM may be powered off by force then; without it a shutdown is only a request. */
  | { name: 'release'; vm: string; how: PlanVm['release']['method']; deadlineMs: number; forceAfterMs?: number }
  | { name: 'claim' }
  | { name: 'reset'; method: ResetMethodName }
  | { name: 'vbios' }
  | { name: 'attach'; vm: string; how: PlanVm['acquire']; guestSlot?: PlanVm['guestSlot'] }
  | { name: 'return-to-host' }
  /** The GPU's inputs go to `to` (null: back to the host); its undo gives them back to `from`. */
  | { name: 'move-input'; from: string | null; to: string | null }
  | { name: 'verify'; owner: Owner };

export interface SwitchPlan {
  gpu: string;
  from: Owner;
  to: Owner;
  steps: PlannedStep[];
}

export const isVm = (owner: Owner): boolean => owner !== 'host' && owner !== 'park';

export function planSwitch(gpu: PlanGpu, from: Owner, to: Owner, vms: Map<string, PlanVm>): SwitchPlan {
  const steps: PlannedStep[] = [];
  if (from === to) return { gpu: gpu.name, from, to, steps };
  const vm = (name: string) => {
    const found = vms.get(name);
    if (!found) throw new Error(`VM ${name} is not in the configuration`);
    return found;
  };

  // Keyboard and mouse: back to the host first (the user who pressed the chord sees the host's
  // screen soon and types there), into a VM last (once it has the GPU it shows).
  const inputs = (gpu.inputs?.length ?? 0) > 0;
  const fromVm = isVm(from) ? from : null;
  if (inputs && fromVm && !isVm(to)) steps.push({ name: 'move-input', from: fromVm, to: null });
  if (isVm(from)) {
    const source = vm(from);
    const force = source.release.method === 'shutdown' ? source.release.forceAfterSeconds : undefined;
    steps.push({
      name: 'release', vm: from, how: source.release.method,
      deadlineMs: (force ?? source.release.timeoutSeconds) * 1000,
      ...(force !== undefined ? { forceAfterMs: force * 1000 } : {}),
    });
  } else if (from === 'host') {
    steps.push({ name: 'claim' });
  }
  if (to === 'host') {
    steps.push({ name: 'return-to-host' });
  } else if (isVm(to)) {
    // Whatever ran on the GPU before, the next VM gets it clean and with a VBIOS it can run.
    steps.push({ name: 'reset', method: gpu.reset });
    steps.push({ name: 'vbios' });
    const target = vm(to);
    steps.push({ name: 'attach', vm: to, how: target.acquire, ...(target.guestSlot ? { guestSlot: target.guestSlot } : {}) });
    if (inputs) steps.push({ name: 'move-input', from: fromVm, to });
  }
  steps.push({ name: 'verify', owner: to });
  return { gpu: gpu.name, from, to, steps };
}

export function describeStep(step: PlannedStep): string {
  switch (step.name) {
    case 'release': return `${step.how === 'shutdown' ? 'shut down' : step.how === 'force-detach' ? 'force-detach from' : 'hot-unplug from'} ${step.vm}`;
    case 'claim': return 'take from the host drivers for passthrough';
    case 'reset': return `reset (${step.method})`;
    case 'vbios': return 'prepare the VBIOS';
    case 'attach': return `${step.how === 'start' ? 'start' : 'hot-plug into'} ${step.vm}`;
    case 'return-to-host': return 'give back to the host drivers';
    case 'move-input': return step.to ? `move the keyboard and mouse into ${step.to}${step.from ? ` from ${step.from}` : ''}` : `give the keyboard and mouse back to the host${step.from ? ` from ${step.from}` : ''}`;
    case 'verify': return `verify that ${step.owner} has it`;
  }
}

export const stepNames = (plan: SwitchPlan): StepName[] => plan.steps.map((s) => s.name);
