// What each planned step does on the ports, and the undo it leaves behind.
import type { GpuConfig } from '../../domain/config/index.js';
import { policyFrom } from '../../domain/handoff/policy.js';
import { functionOf, slotOf, type PciAddress } from '../../domain/pci-address.js';
import type { PlannedStep, PlanVm } from '../../domain/switch/plan.js';
import type { BackendFor, HostPort, Owner } from '../../domain/switch/ports.js';
import type { UndoStack } from '../../domain/undo-stack.js';
import type { AttachGpuRequest, GuestSlot } from '../../domain/vm/port.js';
import type { InputPort } from '../../domain/input/port.js';
import { ResetFailed } from '../../host/reset/reset.js';
import { runMoveInput } from './input-step.js';

export interface StepContext {
  gpu: { name: string; address: PciAddress; functions: PciAddress[]; config: GpuConfig };
  vms: Map<string, PlanVm>;
  host: HostPort;
  backendFor: BackendFor;
  /** The ROM chosen by the vbios step, for the attach step. */
  romFile?: string;
  /** Where the GPU's keyboard and mouse go (the move-input step); absent: no input relay. */
  inputs?: InputPort;
}

/** The step did not apply to this GPU and the switch goes on; the message is recorded. */
export class StepSkipped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepSkipped';
  }
}

export class StepRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepRefused';
  }
}

function toGuestSlot(slot: PlanVm['guestSlot'] | undefined): GuestSlot | undefined {
  return slot?.bus ? { bus: slot.bus, slot: slot.addr } : undefined;
}

function guestSlot(vm: PlanVm | undefined): GuestSlot | undefined {
  return toGuestSlot(vm?.guestSlot);
}

/** The i-th other slot's request: its configured peer slot, or a free one the backend picks. */
function peerRequest(ctx: StepContext, vm: string, functions: PciAddress[], i: number): AttachGpuRequest {
  const entry = ctx.vms.get(vm)?.peerSlots?.[i];
  if (entry?.bus) return { functions, guestSlot: { bus: entry.bus, slot: entry.addr } };
  // Xen has no guest bus: the entry's addr alone pins the vslot there. Elsewhere an entry without a
  // bus pins nothing (QMP was refused before; libvirt picks a free root port).
  if (entry && ctx.backendFor(vm).hypervisor === 'xen') return { functions, guestSlot: { bus: 'pci.0', slot: entry.addr } };
  return { functions, freeSlot: true };
}

/**
 * The GPU's functions by physical slot: the GPU's own slot first, then each device of another slot
 * (a USB controller in movablePeers, which carries the keyboard and mouse along), function 0 first.
 * Each slot is hot-plugged as one request, since a guest slot takes the functions of one host slot.
 */
export function slotGroups(gpu: { address: PciAddress; functions: readonly PciAddress[] }): PciAddress[][] {
  const bySlot = new Map<string, PciAddress[]>([[slotOf(gpu.address), []]]);
  for (const f of gpu.functions) {
    const slot = slotOf(f);
    if (!bySlot.has(slot)) bySlot.set(slot, []);
    bySlot.get(slot)!.push(f);
  }
  return [...bySlot.values()].filter((g) => g.length).map((g) => [...g].sort((a, b) => functionOf(a) - functionOf(b)));
}

/** The GPU's own slot, with the ROM and the configured guest slot. */
function attachRequest(ctx: StepContext, vm: string): AttachGpuRequest {
  const slot = guestSlot(ctx.vms.get(vm));
  const [own = ctx.gpu.functions] = slotGroups(ctx.gpu);
  return { functions: own, ...(ctx.romFile ? { romFile: ctx.romFile } : {}), ...(slot ? { guestSlot: slot } : {}) };
}

/** Hot-plugs what the VM lacks: the GPU's slot (unless `startedWith` it), then each other slot in the next free guest slot. */
async function attachSlots(ctx: StepContext, vm: string, startedWith = false): Promise<void> {
  const backend = ctx.backendFor(vm);
  const [, ...others] = slotGroups(ctx.gpu);
  if (!startedWith) await backend.attachGpu(vm, attachRequest(ctx, vm));
  for (const [i, functions] of others.entries()) await backend.attachGpu(vm, peerRequest(ctx, vm, functions, i));
}

function releaseDeadline(ctx: StepContext, vm: string): number {
  return (ctx.vms.get(vm)?.release.timeoutSeconds ?? 30) * 1000;
}

/** The VM holds at least one function of the GPU now. */
async function holdsAny(ctx: StepContext, vm: string): Promise<boolean> {
  const held = await ctx.backendFor(vm).passthroughDevices(vm);
  return ctx.gpu.functions.some((f) => held.includes(f));
}

/**
 * Before anything is plugged: QEMU cannot choose a guest slot, so a VM on QMP needs a peerSlots
 * entry (with its root port) for each other host slot that moves with the GPU. Refused here, the
 * switch unwinds without asking the guest to give back a GPU it was just given.
 */
function peerSlotsOrRefuse(ctx: StepContext, vm: string): void {
  if (ctx.backendFor(vm).hypervisor !== 'qmp') return;
  const [, ...others] = slotGroups(ctx.gpu);
  const slots = ctx.vms.get(vm)?.peerSlots ?? [];
  const missing = others.filter((_, i) => !slots[i]?.bus);
  if (missing.length) {
    throw new StepRefused(`${vm} runs on QEMU, which cannot pick a guest slot: ${missing.map((g) => g.join(' + ')).join(', ')} (moving with ${ctx.gpu.name}) needs a peerSlots entry with a root port bus in ${vm}'s config`);
  }
}

/** The VM holds every function of the GPU now. */
async function holdsAll(ctx: StepContext, vm: string): Promise<boolean> {
  const held = await ctx.backendFor(vm).passthroughDevices(vm);
  return ctx.gpu.functions.every((f) => held.includes(f));
}

/**
 * Runs one step. Its undo is pushed BEFORE the action starts: an action that fails halfway, or
 * answers after its deadline, still has its undo. Each undo looks first and does only what is
 * needed, so an undo of an action that never took effect does nothing.
 */
export async function runStep(step: PlannedStep, ctx: StepContext, undo: Pick<UndoStack, 'push'>): Promise<void> {
  const policy = policyFrom(ctx.gpu.config);
  const { host, gpu } = ctx;
  switch (step.name) {
    case 'release': {
      const backend = ctx.backendFor(step.vm);
      const status = await backend.state(step.vm);
      if (status.state === 'shut-off') return; // a VM that is off holds nothing live
      if (step.how === 'shutdown') {
        undo.push(`start ${step.vm} again with ${gpu.name}`, async () => {
          if ((await backend.state(step.vm)).state !== 'shut-off') return; // it never went down
          await backend.start(step.vm, { withGpu: attachRequest(ctx, step.vm) });
          await attachSlots(ctx, step.vm, true);
        });
        await backend.shutdown(step.vm, { deadlineMs: step.deadlineMs, ...(step.forceAfterMs !== undefined ? { forceAfterMs: step.forceAfterMs } : {}) });
        return;
      }
      // A paused guest cannot answer an unplug request: it would stall until the deadline.
      if (status.state === 'paused' && step.how === 'hot-unplug') {
        throw new StepRefused(`${step.vm} is paused, and a paused guest cannot release a device; resume it, or configure release: shutdown${backend.hypervisor === 'xen' ? ' or force-detach' : ''}`);
      }
      undo.push(`hot-plug ${gpu.name} back into ${step.vm}`, async () => {
        if (await holdsAll(ctx, step.vm)) return; // the detach never happened
        // Plug back only the slots that left (a detach cut short may have taken some).
        const held = await backend.passthroughDevices(step.vm);
        const [own, ...others] = slotGroups(gpu);
        if (own && !own.every((f) => held.includes(f))) await backend.attachGpu(step.vm, attachRequest(ctx, step.vm));
        for (const [i, functions] of others.entries()) if (!functions.every((f) => held.includes(f))) await backend.attachGpu(step.vm, peerRequest(ctx, step.vm, functions, i));
      });
      await backend.detachGpu(step.vm, gpu.functions, { deadlineMs: step.deadlineMs, force: step.how === 'force-detach' });
      return;
    }
    case 'claim':
      // A claim that fails halfway is given back too (release is idempotent).
      undo.push(`give ${gpu.name} back to the host drivers`, () => host.release(gpu.address, policy));
      await host.claim(gpu.address, policy);
      return;
    case 'reset':
      try {
        await host.reset(gpu.address, step.method);
      } catch (err) {
        // "auto" asks for the best reset there is. When the kernel has none for this GPU (a
        // multi-function card with no per-function reset, on a host that cannot do a VFIO hot
        // reset, e.g. a Xen dom0), the move goes on and the history says why there was no reset.
        // A method the user named must work, or the switch fails.
        if (step.method === 'auto' && err instanceof ResetFailed && (err.code === 'ENOTTY' || /no reset method/.test(err.reason))) {
          throw new StepSkipped(`no reset: ${err.message}`);
        }
        throw err;
      }
      return;
    case 'vbios':
      ctx.romFile = await host.romFile(gpu.address, gpu.config.vbios);
      return;
    case 'attach': {
      const backend = ctx.backendFor(step.vm);
      const status = await backend.state(step.vm);
      if (step.how === 'start') {
        if (status.state !== 'shut-off') throw new StepRefused(`${step.vm} is ${status.state}, and acquire: start needs it shut off; shut it down first`);
        peerSlotsOrRefuse(ctx, step.vm);
        undo.push(`shut ${step.vm} down again`, async () => {
          // Only a VM this step started with the GPU (any of its functions: a peer slot may have
          // failed after the start): never one that runs without it.
          if ((await backend.state(step.vm)).state === 'shut-off' || !(await holdsAny(ctx, step.vm))) return;
          await backend.shutdown(step.vm, { deadlineMs: releaseDeadline(ctx, step.vm) });
        });
        await backend.start(step.vm, { withGpu: attachRequest(ctx, step.vm) });
        await attachSlots(ctx, step.vm, true);
        return;
      }
      if (status.state !== 'running') {
        throw new StepRefused(`${step.vm} is ${status.state}, and hot-plug needs it running; start it, or configure acquire: start`);
      }
      peerSlotsOrRefuse(ctx, step.vm);
      undo.push(`hot-unplug ${gpu.name} from ${step.vm}`, async () => {
        const held = await backend.passthroughDevices(step.vm);
        if (!gpu.functions.some((f) => held.includes(f))) return; // the hot-plug never happened
        await backend.detachGpu(step.vm, gpu.functions, { deadlineMs: releaseDeadline(ctx, step.vm) });
      });
      await attachSlots(ctx, step.vm);
      return;
    }
    case 'return-to-host':
      // A return that stops halfway leaves functions split; claiming again mends it.
      undo.push(`take ${gpu.name} back to ${host.stubDriver}`, () => host.claim(gpu.address, policy));
      await host.release(gpu.address, policy);
      return;
    case 'move-input':
      await runMoveInput(step, gpu.name, ctx.inputs, ctx.backendFor, undo);
      return;
    case 'verify':
      await verifyOwner(ctx, step.owner);
      return;
  }
}

/** The GPU is where the switch says: held by the VM, on host drivers, or parked on the stub driver. */
export async function verifyOwner(ctx: StepContext, owner: Owner): Promise<void> {
  const stub = ctx.host.stubDriver;
  const drivers = await ctx.host.drivers(ctx.gpu.functions);
  const onStub = ctx.gpu.functions.filter((f) => drivers.get(f) === stub);
  if (owner === 'host') {
    if (onStub.length) throw new Error(`${onStub.join(', ')} still on ${stub} after the return to the host`);
    return;
  }
  if (onStub.length !== ctx.gpu.functions.length) {
    const off = ctx.gpu.functions.filter((f) => !onStub.includes(f)).map((f) => `${f} (${drivers.get(f) ?? 'no driver'})`);
    throw new Error(`not every function is on ${stub}: ${off.join(', ')}`);
  }
  if (owner === 'park') return;
  const held = await ctx.backendFor(owner).passthroughDevices(owner);
  const missing = ctx.gpu.functions.filter((f) => !held.includes(f));
  if (missing.length) throw new Error(`${owner} does not hold ${missing.join(', ')}`);
}
