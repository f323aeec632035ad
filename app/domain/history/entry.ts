// One switch as the history records it, and the zod schemas that check what is read back from disk
// and what clients receive.
import { z } from 'zod';
import { isCanonicalPciAddress, type PciAddress } from '../pci-address.js';

export const REQUESTERS = ['tray', 'shortcut', 'cli', 'browser', 'recovery', 'chord'] as const;
/** What a client may say it is; 'recovery' and 'chord' are set only by the helper itself. */
export const CLIENT_REQUESTERS = ['tray', 'shortcut', 'cli', 'browser'] as const;
export type ClientRequester = (typeof CLIENT_REQUESTERS)[number];
export const OUTCOMES = ['succeeded', 'failed', 'rolled-back', 'parked', 'superseded'] as const;
export const STEP_OUTCOMES = ['ok', 'failed', 'undone', 'skipped'] as const;

export type Requester = (typeof REQUESTERS)[number];
/**
 * succeeded; failed (and left where it failed); rolled-back (back with its previous owner);
 * parked (ended on vfio-pci, owned by no one, after a failed rollback); superseded (coalesced away, never ran).
 */
export type SwitchOutcome = (typeof OUTCOMES)[number];
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

const isoTime = z.iso.datetime({ offset: true });
const pciAddress = z.custom<PciAddress>((v) => typeof v === 'string' && isCanonicalPciAddress(v), 'expected a PCI address DDDD:BB:DD.F');
/** A VM name, 'host' or 'park'. */
const party = z.string().min(1);

/** The process that asked, as the kernel named it on the socket (SO_PEERCRED). */
export const peerSchema = z.strictObject({ uid: z.number().int().nonnegative(), user: z.string().nullable() });
export type Peer = z.output<typeof peerSchema>;

/** A request a newer one replaced before it ran, folded into the entry of the switch that won. */
export const coalescedSchema = z.strictObject({
  switchId: z.string().min(1),
  target: z.string().min(1),
  requestedBy: z.enum(REQUESTERS),
  peer: peerSchema.optional(),
});
export type CoalescedRequest = z.output<typeof coalescedSchema>;
/**
 * How many folded requests an entry lists (the newest); the rest are only counted. A client that
 * floods requests must not grow an entry, its journal or the helper's memory without bound.
 */
export const MAX_COALESCED_LISTED = 32;

export const stepSchema = z.strictObject({
  name: z.string().min(1),
  outcome: z.enum(STEP_OUTCOMES),
  ms: z.number().nonnegative(),
  /** Of `ms`, Baton's own time: less the waits on the kernel, the VMs and the hypervisor. */
  ownMs: z.number().nonnegative().optional(),
  error: z.string().optional(),
});

export const historyEntrySchema = z
  .strictObject({
    id: z.string().min(1),
    /** The GPU's name in the config. */
    gpu: z.string().min(1),
    gpuAddress: pciAddress,
    from: party,
    to: party,
    /** A hint from the client (who it says it is); `peer` is who it is. */
    requestedBy: z.enum(REQUESTERS),
    peer: peerSchema.optional(),
    /** Requests that this switch answered instead (newest last). */
    coalesced: z.array(coalescedSchema).max(MAX_COALESCED_LISTED).optional(),
    /** Folded requests beyond the listed ones: counted, not listed. */
    coalescedOmitted: z.number().int().positive().optional(),
    startedAt: isoTime,
    endedAt: isoTime,
    outcome: z.enum(OUTCOMES),
    steps: z.array(stepSchema),
    error: z.string().optional(),
    /** Labels of the undos that ran, newest first. */
    rolledBack: z.array(z.string()),
    /** Who held the GPU once the switch ended: a VM name, 'host' or 'park'. */
    finalOwner: party,
    /** Baton's own time in the switch, from request to entry: its wall time less its waits. */
    ownMs: z.number().nonnegative().optional(),
  })
  .refine((e) => Date.parse(e.endedAt) >= Date.parse(e.startedAt), { message: 'endedAt is before startedAt', path: ['endedAt'] });

export type HistoryStep = z.output<typeof stepSchema>;
export type HistoryEntry = z.output<typeof historyEntrySchema>;

/** The shape clients (tray, CLI, browser) read; full entries are a superset of it, so they pass as they are. */
export const clientHistorySchema = z.object({
  entries: z.array(
    z.object({
      gpu: z.string(),
      from: z.string(),
      to: z.string(),
      requestedBy: z.enum(REQUESTERS),
      outcome: z.enum(OUTCOMES),
      startedAt: isoTime,
      steps: z.array(z.object({ name: z.string(), outcome: z.enum(STEP_OUTCOMES), ms: z.number() })),
    }),
  ),
});

export type ClientHistory = z.output<typeof clientHistorySchema>;

/** Total time of a switch, from request to end. */
export function durationMs(entry: Pick<HistoryEntry, 'startedAt' | 'endedAt'>): number {
  return Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
}
