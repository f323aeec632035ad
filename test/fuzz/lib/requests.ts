// What a client can put on the helper socket (arbitrary envelopes, wrong types, unknown methods,
// tricky names, garbage bytes, deep and big values) and what the protocol says must come back
// for each line: the model the fuzz compares the real helper's answers with.
import fc from 'fast-check';
import { findGpu, resolveTarget, type BatonConfig } from '../../../app/domain/config/index.js';
import { OUTCOMES, REQUESTERS } from '../../../app/domain/history/entry.js';
import { DESK_NOTIFICATION, deskEventSchema } from '../../../app/protocol/desk.js';
import { helperMethods, isMethodName, MAX_LINE_BYTES, METHOD_NAMES, serviceEventSchema } from '../../../app/protocol/helper-protocol.js';
import { RpcErrorCode } from '../../../app/protocol/rpc-errors.js';
import type { WireMessage } from './wire.js';

const KNOWN_NAMES = ['gpu-a', 'gpu-b', '0000:01:00.0', '01:00.0', '0000:02:00.0', '02:00.0', 'win11', 'linux-dev', 'vm-xen', 'host', 'park'];
const TRICKY_NAMES = [
  '', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '../../etc/passwd', '/dev/vfio/8', 'a\u0000b', 'x'.repeat(128), 'x'.repeat(129),
  '\ud800', 'ＧＰＵ-a', 'GPU-A', ' gpu-a', '0000:01:00.0 ', '0000:01:00.7', '0000:ff:1f.7', '1:0.0', '0000:01:00', 'win11\n', 'host\u202e',
];

const anyJson = fc.jsonValue({ maxDepth: 3, depthSize: 'small' });
export const names = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY_NAMES) },
  { weight: 2, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
);
/** Mostly the right type, sometimes anything at all. */
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson as fc.Arbitrary<unknown> });
// A computed "__proto__" key is an own property, so JSON.stringify writes it (the fuzz found the
// helper dropping it once; test/unit/helper/daemon/requests.test.ts keeps that case).
const extraKey = fc.option(fc.tuple(fc.constantFrom('force', 'slot', 'constructor', '__proto__', 'x'), anyJson), { freq: 6 });
const withExtra = (base: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(base, extraKey).map(([o, extra]) => (extra ? { ...o, [extra[0]]: extra[1] } : o));

const switchParams = withExtra(fc.record(
  { gpu: mostly(names), target: mostly(names), requestedBy: mostly(fc.constantFrom(...REQUESTERS, 'root', 'Tray', '')) },
  { requiredKeys: [] },
));
const historyParams = withExtra(fc.record(
  {
    limit: mostly(fc.oneof(fc.integer({ min: -2, max: 12_000 }), fc.double({ noNaN: true, noDefaultInfinity: true }))),
    offset: mostly(fc.integer({ min: -2, max: 2000 })),
    gpu: mostly(names),
    vm: mostly(names),
    outcome: mostly(fc.constantFrom(...OUTCOMES, 'ok')),
  },
  { requiredKeys: [] },
));
const helloParams = withExtra(fc.record({ protocol: mostly(fc.integer()), client: mostly(names) }, { requiredKeys: [] }));
const params = fc.oneof(
  { weight: 4, arbitrary: switchParams as fc.Arbitrary<unknown> },
  { weight: 2, arbitrary: historyParams },
  { weight: 1, arbitrary: helloParams },
  { weight: 1, arbitrary: fc.constantFrom({}, [], [1], { '': 1 }) },
  { weight: 1, arbitrary: anyJson },
);
const methods = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...METHOD_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'rpc.discover', 'Switch', 'status ', 'event', 'shutdown', 'm'.repeat(64), 'm'.repeat(65), '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const ids = fc.oneof(
  { weight: 6, arbitrary: fc.integer() as fc.Arbitrary<unknown> },
  { weight: 2, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, 'i'.repeat(128), 'i'.repeat(129), true, {}, [1], 1.5, -0, 1e21) },
);

/** An envelope: each member usually right, sometimes missing, wrong or joined by a stranger. */
export const envelopes = fc
  .record({
    jsonrpc: fc.option(fc.oneof({ weight: 12, arbitrary: fc.constant('2.0') as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constantFrom('1.0', 2, 2.0, null, '2.0 ', '') }), { freq: 25, nil: undefined }),
    method: fc.option(fc.oneof({ weight: 15, arbitrary: methods as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson }), { freq: 25, nil: undefined }),
    params: fc.option(params, { freq: 3, nil: undefined }),
    id: fc.option(ids, { freq: 12, nil: undefined }),
    extra: fc.option(fc.tuple(fc.constantFrom('result', 'error', 'ID', '__proto__', 'jsonrpc2'), anyJson), { freq: 12, nil: undefined }),
  })
  .map(({ jsonrpc, method, params: p, id, extra }) => {
    const o: Record<string, unknown> = {};
    if (jsonrpc !== undefined) o.jsonrpc = jsonrpc;
    if (method !== undefined) o.method = method;
    if (p !== undefined) o.params = p;
    if (id !== undefined) o.id = id;
    if (extra) Object.defineProperty(o, extra[0], { value: extra[1], enumerable: true, configurable: true, writable: true });
    return o;
  });

/** Requests a careful client would send: the right method, params of the right shape, a plain id. */
const GPU_NAMES = KNOWN_NAMES.slice(0, 6);
const TARGET_NAMES = KNOWN_NAMES.slice(6);
const goodName = (pool: string[]) => fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: names });
const noParams = fc.constantFrom(undefined, {}, []);
export const wellFormed = fc
  .tuple(
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ gpu: goodName(GPU_NAMES), target: goodName(TARGET_NAMES), requestedBy: fc.constantFrom(...REQUESTERS) }).map((p) => ['switch', p] as const) },
      { weight: 2, arbitrary: fc.record({ limit: fc.integer({ min: 1, max: 300 }), offset: fc.integer({ min: 0, max: 50 }), gpu: goodName(GPU_NAMES), vm: goodName(TARGET_NAMES), outcome: fc.constantFrom(...OUTCOMES) }, { requiredKeys: [] }).map((p) => ['history', p] as const) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('status', 'reconcile', 'subscribe', 'unsubscribe'), noParams) },
      { weight: 1, arbitrary: fc.record({ protocol: fc.integer({ min: 0, max: 3 }), client: fc.constantFrom('cli', 'tray') }, { requiredKeys: [] }).map((p) => ['hello', p] as const) },
    ),
    fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.string({ minLength: 1, maxLength: 12 })),
  )
  .map(([[method, p], id]) => ({ jsonrpc: '2.0', id, method, ...(p === undefined ? {} : { params: p }) }));

const encoder = new TextEncoder();
const text = (s: string) => encoder.encode(s);
const deep = (depth: number, open: string, close: string, core = '1') => open.repeat(depth) + core + close.repeat(depth);

/** One line's bytes (without its newline unless it carries several). */
export const lines: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 30, arbitrary: wellFormed.map((e) => text(JSON.stringify(e))) },
  { weight: 25, arbitrary: envelopes.map((e) => text(JSON.stringify(e))) },
  // Valid JSON that JSON.stringify of a JS object never writes.
  { weight: 2, arbitrary: fc.constantFrom(
    '{"jsonrpc":"2.0","id":1e400,"method":"hello"}', '{"jsonrpc":"2.0","id":1,"method":"hello","id":2}', '{"jsonrpc":"2.0","id":3,"method":"status","__proto__":{"x":1}}',
    '{"jsonrpc":"2.0","id":4,"method":"switch","params":{"__proto__":{"gpu":"gpu-a"},"target":"host","requestedBy":"cli"}}',
    '\ufeff{"jsonrpc":"2.0","id":5,"method":"hello"}', '{"jsonrpc":"2.0","id":6,"method":"hello"}\r', '   ', '\t\r', 'null', '0', '"2.0"', '[]', '[{"jsonrpc":"2.0","id":7,"method":"hello"}]',
  ).map(text) },
  // A valid request cut short, or run together with another.
  { weight: 3, arbitrary: fc.tuple(fc.oneof(wellFormed, envelopes), fc.nat()).map(([e, n]) => { const s = JSON.stringify(e); return text(s.slice(0, n % (s.length + 1))); }) },
  { weight: 1, arbitrary: fc.tuple(envelopes, envelopes).map(([a, b]) => text(JSON.stringify(a) + JSON.stringify(b))) },
  // Garbage bytes (may hold newlines and invalid UTF-8).
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  // Deep values: as the whole message, and as params of a real method.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(10, 1000, 50_000), fc.constantFrom(...METHOD_NAMES)).map(([d, m]) => text(`{"jsonrpc":"2.0","id":8,"method":"${m}","params":${deep(d, '[', ']')}}`)) },
  { weight: 1, arbitrary: fc.constantFrom(10, 1000, 50_000).map((d) => text(`{"jsonrpc":"2.0","id":9,"method":"switch","params":{"gpu":${deep(d, '{"a":', '}')},"target":"host","requestedBy":"cli"}}`)) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 100_000).map((d) => text(deep(d, '[', ']'))) },
  // Big but under the line limit: a huge name and a huge id.
  { weight: 1, arbitrary: fc.constantFrom(1000, 200_000, MAX_LINE_BYTES - 200).map((n) => text(`{"jsonrpc":"2.0","id":10,"method":"switch","params":{"gpu":"${'g'.repeat(n)}","target":"host","requestedBy":"cli"}}`)) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 100_000).map((n) => text(`{"jsonrpc":"2.0","id":"${'i'.repeat(n)}","method":"hello"}`)) },
);

// --- the model ---

export type Expectation = {
  /** The id the answer must carry (null for answers about an unreadable line). */
  id: string | number | null;
  what: string;
  /** null when the message is an acceptable answer; otherwise why not. */
  judge(message: WireMessage): string | null;
  /** Switch ids the accepted answer reported. */
  switchIds?: string[];
};

function errorWith(code: number, also?: (message: string) => string | null) {
  return (m: WireMessage): string | null => {
    if (m.result !== undefined) return `expected error ${code}, got a result ${JSON.stringify(m.result).slice(0, 200)}`;
    if (!m.error) return 'neither result nor error';
    if (m.error.code !== code) return `expected error ${code}, got ${String(m.error.code)}: ${String(m.error.message).slice(0, 300)}`;
    if (typeof m.error.message !== 'string' || !m.error.message) return 'error without a message';
    if (m.error.message.length > 4096) return `error message of ${m.error.message.length} characters (unbounded echo of the request?)`;
    return also?.(m.error.message) ?? null;
  };
}

const isRequestId = (v: unknown): v is string | number | null =>
  v === null || (typeof v === 'string' && v.length <= 128) || (typeof v === 'number' && Number.isFinite(v));

const ENVELOPE_KEYS = new Set(['jsonrpc', 'method', 'params', 'id']);

function judgeValid(method: string, rawParams: unknown, config: BatonConfig, uid: number): Omit<Expectation, 'id'> {
  if (!isMethodName(method)) {
    return { what: `unknown method ${method}`, judge: errorWith(RpcErrorCode.MethodNotFound, (msg) => (msg.includes(JSON.stringify(method)) ? null : `the error does not name the method: ${msg}`)) };
  }
  const parsed = helperMethods[method].params.safeParse(rawParams);
  if (!parsed.success) {
    return { what: `${method} with invalid params`, judge: errorWith(RpcErrorCode.InvalidParams, (msg) => (msg.startsWith(`${method}: `) ? null : `the error does not start with the method: ${msg}`)) };
  }
  const p = (parsed.data ?? {}) as { gpu?: string; target?: string; vm?: string };
  // Both history methods take the allowlist's names only (app/helper/rpc/dispatcher.ts), as a switch does.
  const isHistory = method === 'history' || method === 'desk.history';
  if ((method === 'switch' || (isHistory && p.gpu !== undefined)) && !findGpu(config, p.gpu!)) {
    return { what: `${method} of unknown GPU`, judge: errorWith(RpcErrorCode.UnknownName, (msg) => (msg.includes('unknown GPU') ? null : `not about the GPU: ${msg}`)) };
  }
  const target = method === 'switch' ? p.target : isHistory ? p.vm : undefined;
  if (target !== undefined && !resolveTarget(config, target)) {
    return { what: `${method} to unknown target`, judge: errorWith(RpcErrorCode.UnknownName, (msg) => (msg.includes('unknown target') ? null : `not about the target: ${msg}`)) };
  }
  const expectation: Omit<Expectation, 'id'> = {
    what: `${method} that must succeed`,
    judge(m) {
      if (m.error) return `expected a ${method} result, got error ${String(m.error.code)}: ${String(m.error.message).slice(0, 300)}`;
      const result = helperMethods[method].result.safeParse(m.result);
      if (!result.success) return `the ${method} result breaks the protocol: ${result.error.message.slice(0, 300)}`;
      if (method === 'hello' && (result.data as { uid: number }).uid !== uid) return `hello reports uid ${(result.data as { uid: number }).uid}, the caller is ${uid}`;
      if (method === 'subscribe' && !(result.data as { subscribed: boolean }).subscribed) return 'subscribe answered subscribed: false';
      if (method === 'switch') {
        const r = result.data as { switchId: string; outcome: string; owner: string; supersededBy?: string };
        const wanted = resolveTarget(config, target!)!;
        const wantedOwner = wanted.kind === 'vm' ? wanted.vm.name : wanted.kind;
        if (r.outcome === 'succeeded' && r.owner !== wantedOwner) return `switch to ${wantedOwner} "succeeded" with owner ${r.owner}`;
        if (r.outcome === 'superseded' && !r.supersededBy) return 'superseded without supersededBy';
        expectation.switchIds = [r.switchId];
      }
      return null;
    },
  };
  return expectation;
}

/** The answers the helper owes for one line of text (already split at its newline). */
function expectForLine(bytes: Uint8Array, config: BatonConfig, uid: number): Expectation | null {
  const textLine = Buffer.from(bytes).toString('utf8').trim();
  if (!textLine) return null;
  let message: unknown;
  try {
    message = JSON.parse(textLine);
  } catch {
    return { id: null, what: 'not JSON', judge: errorWith(RpcErrorCode.ParseError) };
  }
  if (Array.isArray(message)) return { id: null, what: 'a batch', judge: errorWith(RpcErrorCode.InvalidRequest, (m) => (m.includes('batch') ? null : `not about batches: ${m}`)) };
  const o = message as Record<string, unknown> | null;
  const envelopeOk =
    typeof o === 'object' && o !== null &&
    Object.keys(o).every((k) => ENVELOPE_KEYS.has(k)) &&
    o.jsonrpc === '2.0' &&
    typeof o.method === 'string' && o.method.length >= 1 && o.method.length <= 64 &&
    (o.params === undefined || (typeof o.params === 'object' && o.params !== null)) &&
    (!('id' in o) || isRequestId(o.id));
  if (!envelopeOk) {
    const rawId = typeof o === 'object' && o !== null ? o.id : undefined;
    return { id: isRequestId(rawId) ? rawId : null, what: 'not a JSON-RPC 2.0 request', judge: errorWith(RpcErrorCode.InvalidRequest) };
  }
  if (!('id' in o!) || o!.id === undefined) return null; // a notification: no answer
  return { id: o!.id as string | number | null, ...judgeValid(o!.method as string, o!.params, config, uid) };
}

export interface CaseModel {
  expectations: Expectation[];
  /** A line over the limit: the helper must answer -32003 with id null and close. */
  overflow: boolean;
}

/** Splits the bytes at newlines as the framing does and models each complete line. */
export function modelBytes(bytes: Uint8Array, config: BatonConfig, uid: number): CaseModel {
  const expectations: Expectation[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    if (end - start > MAX_LINE_BYTES) return { expectations, overflow: true };
    if (nl < 0) return { expectations, overflow: false }; // a partial line waits for its newline
    const e = expectForLine(bytes.subarray(start, end), config, uid);
    if (e) expectations.push(e);
    start = nl + 1;
  }
}

/** An `event` notification (after subscribe) or a `desk` one (after desk.subscribe) must be one the protocol allows. */
export function judgeEvent(m: WireMessage): string | null {
  if (m.id !== undefined) return 'an event with an id';
  const e = (m.method === DESK_NOTIFICATION ? deskEventSchema : serviceEventSchema).safeParse(m.params);
  return e.success ? null : `a ${String(m.method)} notification the protocol does not allow: ${JSON.stringify(m.params).slice(0, 200)}`;
}

export const idKey = (id: unknown) => JSON.stringify(id ?? null);
