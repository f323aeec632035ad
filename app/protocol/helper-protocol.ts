// The helper's JSON-RPC 2.0 protocol: one zod schema for the params and the result of every
// method, mirroring BatonService, and the `event` notification the helper pushes to subscribers.
// Both sides validate with these: the helper every request, clients every answer.
import { z } from 'zod';
import { STEP_OUTCOMES } from '../domain/history/entry.js';
import { clientRequester, name, noParams, owner, pciAddress, switchEventSchemas, switchOutcome, switchResultSchema, requester, vmState } from './common-schemas.js';
import { deskHistoryPageSchema, deskHistoryQuerySchema, deskSnapshotSchema, deskSubscribeResultSchema } from './desk.js';
import type { BatonService, HistoryQuery, ServiceEvent, StatusSnapshot, SwitchRequest, SwitchResult } from '../domain/switch/service.js';

/** Bumped when a method or a shape changes (2: the desk methods and the `desk` notification). */
export const PROTOCOL_VERSION = 2;
export const DEFAULT_SOCKET_PATH = '/run/baton/helper.sock';
/** One JSON message per line; a longer line is refused and its connection closed. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** The name of the server→client notification that carries a ServiceEvent. */
export const EVENT_NOTIFICATION = 'event';

export { switchResultSchema };

export const helloParamsSchema = z.union([z.undefined(), z.strictObject({ protocol: z.number().int().optional(), client: name.optional() })]);
export const helloResultSchema = z.object({ protocol: z.number().int(), server: z.string(), uid: z.number().int() });

// Status fields are exactly the service's; unknown ones are dropped rather than trusted.
export const statusSchema = z.object({
  gpus: z.array(z.object({
    name,
    /** Null only for an absent GPU matched by ids. */
    address: pciAddress.nullable(),
    /** A VM name, 'host', 'park', or 'lost' | 'wedged' | 'absent' (then `reason` says why). */
    owner,
    functions: z.array(pciAddress),
    busy: z.boolean(),
    match: z.string().optional(),
    reason: z.string().optional(),
  })),
  vms: z.array(z.object({ name, backend: z.enum(['qmp', 'libvirt', 'xen']), state: vmState, raw: z.string() })),
  disagreements: z.array(z.string()),
  recoveryProblems: z.array(z.string()).optional(),
});

export const switchParamsSchema = z.strictObject({
  /** The GPU's config name or PCI address. */
  gpu: name,
  /** A VM name, "host" or "park". */
  target: owner,
  requestedBy: clientRequester,
});

export const historyParamsSchema = z.union([
  z.undefined(),
  z.strictObject({
    limit: z.number().int().min(1).max(10_000).optional(),
    offset: z.number().int().min(0).optional(),
    gpu: name.optional(),
    vm: name.optional(),
    outcome: switchOutcome.optional(),
  }),
]);
const historyEntrySchema = z.looseObject({
  gpu: z.string(),
  from: z.string(),
  to: z.string(),
  requestedBy: requester,
  outcome: switchOutcome,
  startedAt: z.string(),
  steps: z.array(z.looseObject({ name: z.string(), outcome: z.enum(STEP_OUTCOMES), ms: z.number() })),
});
export const historyResultSchema = z.object({
  entries: z.array(historyEntrySchema),
  total: z.number().int().min(0),
  /** Where the next page starts, when more entries match: a page stops at `limit` or at the line limit (app/protocol/page-bytes.ts), whichever comes first. */
  nextOffset: z.number().int().min(0).optional(),
});
export type ProtocolHistoryEntry = z.output<typeof historyEntrySchema>;

export const reconcileResultSchema = z.object({ findings: z.array(z.string()) });
export const subscriptionResultSchema = z.object({ subscribed: z.boolean() });

export const serviceEventSchema = z.discriminatedUnion('kind', [
  ...switchEventSchemas,
  z.object({ kind: z.literal('status'), status: statusSchema }),
  z.object({ kind: z.literal('history-appended'), entryId: z.string() }),
]);

/** Every method: its params schema (what the helper accepts) and result schema (what clients accept). */
export const helperMethods = {
  hello: { params: helloParamsSchema, result: helloResultSchema },
  status: { params: noParams, result: statusSchema },
  switch: { params: switchParamsSchema, result: switchResultSchema },
  history: { params: historyParamsSchema, result: historyResultSchema },
  reconcile: { params: noParams, result: reconcileResultSchema },
  subscribe: { params: noParams, result: subscriptionResultSchema },
  unsubscribe: { params: noParams, result: subscriptionResultSchema },
  // The desk (app/protocol/desk.ts): the whole view at once, its events, and full history pages.
  'desk.snapshot': { params: noParams, result: deskSnapshotSchema },
  /** Starts DESK_NOTIFICATION events on this connection and answers the snapshot they continue from. */
  'desk.subscribe': { params: noParams, result: deskSubscribeResultSchema },
  'desk.unsubscribe': { params: noParams, result: subscriptionResultSchema },
  'desk.history': { params: z.union([z.undefined(), deskHistoryQuerySchema]), result: deskHistoryPageSchema },
} as const;

export type MethodName = keyof typeof helperMethods;
export type ParamsOf<M extends MethodName> = z.input<(typeof helperMethods)[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<(typeof helperMethods)[M]['result']>;
export const METHOD_NAMES = Object.keys(helperMethods) as MethodName[];

export function isMethodName(text: string): text is MethodName {
  return Object.prototype.hasOwnProperty.call(helperMethods, text);
}

// The schemas must describe the service's own types; these fail to compile when the two drift apart.
type Assignable<From, To> = [From] extends [To] ? true : false;
const _statusMatches: Assignable<StatusSnapshot, z.input<typeof statusSchema>> = true;
const _switchRequestMatches: Assignable<z.output<typeof switchParamsSchema>, SwitchRequest> = true;
const _switchResultMatches: Assignable<SwitchResult, z.input<typeof switchResultSchema>> = true;
const _historyQueryMatches: Assignable<NonNullable<z.output<typeof historyParamsSchema>>, HistoryQuery> = true;
const _eventMatches: Assignable<ServiceEvent, z.input<typeof serviceEventSchema>> = true;
const _reconcileMatches: Assignable<Awaited<ReturnType<BatonService['reconcile']>>, z.input<typeof reconcileResultSchema>['findings']> = true;
