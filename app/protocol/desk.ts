// The desk: everything a user looks at in one view (GPUs with their functions, owner, monitors and
// the switch under way; VMs; stats; the config), and the events that keep it current. The helper
// builds it (app/helper/desk) and validates it before sending; clients (the renderer over `baton ui`
// or Electron's preload) validate it again on arrival. Browser-safe: zod and the domain only.
import { z } from 'zod';
import { OUTCOMES } from '../domain/history/entry.js';
import { ACQUIRE_METHODS, RELEASE_METHODS, RESET_METHODS } from '../domain/config/names.js';
import {
  backendName,
  name,
  owner,
  pciAddress,
  requester,
  stepName,
  stepOutcome,
  switchEventSchemas,
  switchOutcome,
  switchResultSchema,
  vmState,
} from './common-schemas.js';

/** The JSON-RPC notification that carries a DeskEvent to a connection that called `desk.subscribe`. */
export const DESK_NOTIFICATION = 'desk';

const isoTime = z.string().min(1).max(64);
const text = z.string();
const nullableText = z.string().nullable();

// --- GPUs ---

export const deskFunctionSchema = z.object({
  address: pciAddress,
  /** The class code as sysfs has it ("0x030000"); null when unreadable. */
  class: nullableText,
  /** "VGA compatible controller", "Audio device", ...; null for a class Baton has no word for. */
  className: nullableText,
  vendor: nullableText,
  device: nullableText,
  vendorName: nullableText,
  deviceName: nullableText,
  /** The driver bound now; null: none. */
  driver: nullableText,
  /** display: the GPU itself; companion: same slot (HDA, USB-C); peer: the IOMMU group's others; movable-peer: a peer the config lets move. */
  role: z.enum(['display', 'companion', 'peer', 'movable-peer']),
});

export const deskStepSchema = z.object({ name: stepName, outcome: stepOutcome, ms: z.number().nonnegative(), error: z.string().optional() });

/** A switch under way: where it goes, the step it is in, the steps already done. */
export const deskCurrentSwitchSchema = z.object({
  switchId: z.string(),
  from: owner,
  to: owner,
  requestedBy: requester,
  startedAt: isoTime,
  /** The step running now; null between steps. */
  step: z.object({ name: stepName, detail: text, startedAt: isoTime }).nullable(),
  steps: z.array(deskStepSchema),
});

/** How the last switch of a GPU ended (from the history, so it survives a helper restart). */
export const deskLastOutcomeSchema = z.object({
  switchId: z.string(),
  from: owner,
  to: owner,
  requestedBy: requester,
  outcome: switchOutcome,
  startedAt: isoTime,
  endedAt: isoTime,
  durationMs: z.number(),
  /** Who held the GPU once it ended: after a failure, where the rollback left it. */
  finalOwner: owner,
  error: z.string().optional(),
  /** The first step that failed; null when none did. */
  failedStep: z.string().nullable(),
  /** The undos that ran, newest first. */
  rolledBack: z.array(text),
});

export const deskGpuSchema = z.object({
  /** The config name. */
  name,
  /** Where the GPU sits now; null when the config's match finds nothing on the bus. */
  address: pciAddress.nullable(),
  /** How the config finds it: "address 0000:01:00.0" or "ids 10de:2204". */
  match: text,
  present: z.boolean(),
  vendor: nullableText,
  device: nullableText,
  vendorName: nullableText,
  deviceName: nullableText,
  iommuGroup: z.number().int().nullable(),
  /** Every function that moves with the GPU (display first), then the group's other members. */
  functions: z.array(deskFunctionSchema),
  /** The config's reset (auto, flr, ...) and what the kernel offers. */
  reset: z.enum(RESET_METHODS),
  kernelResetMethods: z.array(text),
  bootVga: z.boolean(),
  assignable: z.boolean(),
  /** Blockers, warnings and tree problems, as sentences. */
  problems: z.array(text),
  owner,
  busy: z.boolean(),
  /** Where it can be sent: the configured VMs, "host" and "park" (the current owner included). */
  targets: z.array(owner),
  current: deskCurrentSwitchSchema.nullable(),
  last: deskLastOutcomeSchema.nullable(),
  /** The connectors of its monitors (see DeskSnapshot.monitors). */
  monitors: z.array(text),
});

// --- monitors ---

export const deskModeSchema = z.object({ width: z.number().int().positive(), height: z.number().int().positive(), refreshHz: z.number().nonnegative() });

export const deskMonitorSchema = z.object({
  /** The DRM connector, "card1-DP-1". */
  connector: text,
  /** The config's name for it ("Left"); null when the config does not name it. */
  label: nullableText,
  /** The monitor's own name from its EDID. */
  edidName: nullableText,
  manufacturerId: nullableText,
  productCode: z.number().int().nullable(),
  /** The EDID serial text, or its serial number when it has no text; null when neither. */
  serial: nullableText,
  preferredMode: deskModeSchema.nullable(),
  /** The GPU it hangs on (config name); null when no configured GPU has it. */
  gpu: name.nullable(),
  gpuAddress: pciAddress.nullable(),
  /** Whose picture it shows: the GPU's owner ("host", a VM, "park": nothing). */
  shows: owner.nullable(),
  /** The connector's status as the kernel reported it ("connected"); null when not seen now. */
  status: nullableText,
  /**
   * now: the host's DRM driver shows it now; remembered: its GPU is away (a VM or vfio-pci holds it) and this is
   * what the helper saw last; configured: only the config names it, never seen.
   */
  presence: z.enum(['now', 'remembered', 'configured']),
  /** When the helper last saw it; null while it sees it now, or never did. */
  lastSeenAt: isoTime.nullable(),
});

// --- VMs ---

export const deskVmSchema = z.object({
  name,
  backend: backendName,
  state: vmState,
  /** The hypervisor's own word for the state, or why it could not be read. */
  raw: text,
  /** The configured GPUs it holds, and their PCI functions. */
  gpus: z.array(name),
  devices: z.array(pciAddress),
  release: z.object({ method: z.enum(RELEASE_METHODS), timeoutSeconds: z.number().int() }),
  acquire: z.enum(ACQUIRE_METHODS),
});

// --- stats (app/domain/history/stats.ts) ---

export const switchStatsSchema = z.object({
  total: z.number().int().min(0),
  attempted: z.number().int().min(0),
  byOutcome: z.object(Object.fromEntries(OUTCOMES.map((o) => [o, z.number().int().min(0)])) as Record<(typeof OUTCOMES)[number], z.ZodNumber>),
  successRate: z.number().min(0).max(1).nullable(),
  medianMs: z.number().nullable(),
  p95Ms: z.number().nullable(),
});

export const deskStatsSchema = z.object({
  overall: switchStatsSchema,
  byGpu: z.array(switchStatsSchema.extend({ gpu: text })),
  byPair: z.array(switchStatsSchema.extend({ from: text, to: text })),
});

// --- config ---

export const deskFindingSchema = z.object({
  severity: z.enum(['error', 'warning']),
  /** Where it is; null parts when the finding is about the machine rather than a place in the file. */
  file: nullableText,
  line: z.number().int().nullable(),
  col: z.number().int().nullable(),
  /** The field, "gpus[0].match"; empty when none. */
  path: text,
  message: text,
});

export const deskShortcutSchema = z.object({
  keys: text,
  /** The GPU it moves (resolved when the config leaves it out); null when it names none the config has. */
  gpu: name.nullable(),
  target: owner,
});

export const deskConfigSchema = z.object({
  /** The file the helper loaded; null for the simulated workstation's built-in config. */
  file: nullableText,
  /** The parsed config the helper works with, defaults filled in (JSON of BatonConfig). */
  effective: z.record(z.string(), z.unknown()),
  shortcuts: z.array(deskShortcutSchema),
  /** Errors in the file as it is on disk now (the helper keeps running on what it loaded), and config-vs-machine warnings. */
  findings: z.array(deskFindingSchema),
});

// --- the snapshot ---

export const deskSnapshotSchema = z.object({
  /** Grows by one with every snapshot the helper builds; a client keeps the highest it has seen. */
  revision: z.number().int().min(0),
  /** When it was built. */
  at: isoTime,
  helper: z.object({ version: text, simulated: z.boolean() }),
  gpus: z.array(deskGpuSchema),
  monitors: z.array(deskMonitorSchema),
  vms: z.array(deskVmSchema),
  stats: deskStatsSchema,
  /** Entries in the history (all of them; pages come from `desk.history`). */
  historyTotal: z.number().int().min(0),
  config: deskConfigSchema,
  /** Where the ownership registry and the machine disagree, as sentences. */
  disagreements: z.array(text),
});

// --- history pages ---

export const deskHistoryEntrySchema = z.object({
  id: z.string(),
  gpu: text,
  gpuAddress: pciAddress,
  from: text,
  to: text,
  requestedBy: requester,
  startedAt: isoTime,
  endedAt: isoTime,
  durationMs: z.number(),
  outcome: switchOutcome,
  steps: z.array(z.object({ name: text, outcome: stepOutcome, ms: z.number(), error: z.string().optional() })),
  error: z.string().optional(),
  rolledBack: z.array(text),
  finalOwner: text,
});

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1).max(16)]);

export const deskHistoryQuerySchema = z.strictObject({
  /** Page size, 1..10000; default 50. */
  limit: z.number().int().min(1).max(10_000).optional(),
  /** Cursor: entries older than this id (the previous page's nextCursor). */
  before: z.string().min(1).max(128).optional(),
  offset: z.number().int().min(0).max(10_000_000).optional(),
  gpu: name.optional(),
  /** A VM, "host" or "park" on either side. */
  vm: name.optional(),
  outcome: oneOrMany(switchOutcome).optional(),
  requestedBy: oneOrMany(requester).optional(),
  /** Started at or after (ISO time). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Started before (ISO time). */
  until: z.iso.datetime({ offset: true }).optional(),
});

export const deskHistoryPageSchema = z.object({
  /** Newest first. */
  entries: z.array(deskHistoryEntrySchema),
  /** Pass as `before` for the next page; null on the last. */
  nextCursor: z.string().nullable(),
  /** Entries matching the filter, all pages together. */
  total: z.number().int().min(0),
});

// --- events ---

export const deskEventSchema = z.discriminatedUnion('kind', [
  ...switchEventSchemas,
  /** The desk changed (a step began or ended, a VM changed state, the history grew): the whole new snapshot. */
  z.object({ kind: z.literal('desk-changed'), snapshot: deskSnapshotSchema }),
  /** A switch was recorded; the entry as `desk.history` would return it. */
  z.object({ kind: z.literal('history-appended'), entry: deskHistoryEntrySchema }),
]);

export const deskSubscribeResultSchema = z.object({ subscribed: z.literal(true), snapshot: deskSnapshotSchema });

export type DeskFunction = z.output<typeof deskFunctionSchema>;
export type DeskStep = z.output<typeof deskStepSchema>;
export type DeskCurrentSwitch = z.output<typeof deskCurrentSwitchSchema>;
export type DeskLastOutcome = z.output<typeof deskLastOutcomeSchema>;
export type DeskGpu = z.output<typeof deskGpuSchema>;
export type DeskMode = z.output<typeof deskModeSchema>;
export type DeskMonitor = z.output<typeof deskMonitorSchema>;
export type DeskVm = z.output<typeof deskVmSchema>;
export type DeskSwitchStats = z.output<typeof switchStatsSchema>;
export type DeskStats = z.output<typeof deskStatsSchema>;
export type DeskFinding = z.output<typeof deskFindingSchema>;
export type DeskShortcut = z.output<typeof deskShortcutSchema>;
export type DeskConfig = z.output<typeof deskConfigSchema>;
export type DeskSnapshot = z.output<typeof deskSnapshotSchema>;
export type DeskHistoryEntry = z.output<typeof deskHistoryEntrySchema>;
/** What a client sends to `desk.history` (input: optional fields may be left out). */
export type DeskHistoryQuery = z.input<typeof deskHistoryQuerySchema>;
export type DeskHistoryPage = z.output<typeof deskHistoryPageSchema>;
export type DeskEvent = z.output<typeof deskEventSchema>;
export type DeskSwitchResult = z.output<typeof switchResultSchema>;
export type DeskSubscribeResult = z.output<typeof deskSubscribeResultSchema>;
