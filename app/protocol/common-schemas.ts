// Schema pieces both the helper protocol and the desk protocol are made of: names, PCI addresses,
// owners, and the switch events and results. One definition, so the two cannot drift apart.
import { z } from 'zod';
import { CLIENT_REQUESTERS, OUTCOMES, REQUESTERS, STEP_OUTCOMES } from '../domain/history/entry.js';
import { isCanonicalPciAddress, type PciAddress } from '../domain/pci-address.js';

// Names travel into logs and error messages; bound them so a client cannot make either huge.
export const name = z.string().min(1).max(128);
/** A VM name, "host" or "park". */
export const owner = name;
export const pciAddress = z.custom<PciAddress>((v) => typeof v === 'string' && isCanonicalPciAddress(v), 'expected a PCI address DDDD:BB:DD.F');
export const requester = z.enum(REQUESTERS);
/** A client may say it is one of these; 'recovery' and 'chord' are the helper's own. */
export const clientRequester = z.enum(CLIENT_REQUESTERS);
export const switchOutcome = z.enum(OUTCOMES);
export const stepOutcome = z.enum(STEP_OUTCOMES);
export const STEP_NAMES = ['release', 'claim', 'reset', 'vbios', 'attach', 'return-to-host', 'move-input', 'verify'] as const;
export const stepName = z.enum(STEP_NAMES);
export const VM_STATES = ['running', 'paused', 'shut-off', 'crashed', 'starting', 'unknown'] as const;
export const vmState = z.enum(VM_STATES);
export const BACKEND_NAMES = ['qmp', 'libvirt', 'xen'] as const;
export const backendName = z.enum(BACKEND_NAMES);
/** Methods without params accept none, an empty object or an empty array. */
export const noParams = z.union([z.undefined(), z.strictObject({}), z.tuple([])]).transform(() => undefined);

export const switchResultSchema = z.object({
  switchId: z.string(),
  outcome: switchOutcome,
  owner,
  error: z.string().optional(),
  supersededBy: owner.optional(),
});

/** The progress of a switch (the engine's SwitchEvent), one object per kind. */
export const switchEventSchemas = [
  z.object({ kind: z.literal('switch-started'), switchId: z.string(), gpu: name, from: owner, to: owner, requestedBy: requester }),
  z.object({ kind: z.literal('step-started'), switchId: z.string(), step: stepName, detail: z.string(), at: z.string() }),
  z.object({
    kind: z.literal('step-ended'),
    switchId: z.string(),
    step: stepName,
    outcome: stepOutcome,
    ms: z.number(),
    error: z.string().optional(),
  }),
  z.object({ kind: z.literal('switch-ended'), switchId: z.string(), outcome: switchOutcome, owner, error: z.string().optional() }),
  z.object({ kind: z.literal('request-coalesced'), gpu: name, replacedTarget: owner, target: owner }),
] as const;

export const switchEventSchema = z.discriminatedUnion('kind', [...switchEventSchemas]);
