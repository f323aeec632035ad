// Maps JSON-RPC requests onto BatonService: params validated and names allowlisted on the way in,
// results validated on the way out, every failure turned into an error answer with a clear message.
import { JSONRPCErrorException, JSONRPCServer, createJSONRPCErrorResponse, type JSONRPCRequest, type JSONRPCResponse } from 'json-rpc-2.0';
import type { z } from 'zod';
import type { BatonConfig } from '../../domain/config/index.js';
import type { BatonService } from '../../domain/switch/service.js';
import { helperMethods, isMethodName, METHOD_NAMES, PROTOCOL_VERSION, type MethodName } from '../../protocol/helper-protocol.js';
import { RpcErrorCode } from '../../protocol/rpc-errors.js';
import type { DeskSource } from '../desk/source.js';
import { allowedGpu, allowedTarget } from './allowlist.js';
import { describeIssues } from './issues.js';

/** What a method may know and do about the connection that called it. */
export interface ConnectionContext {
  uid: number;
  /** The caller's account name (SO_PEERCRED uid looked up in /etc/passwd), null when it has none. */
  user: string | null;
  subscribe(): void;
  unsubscribe(): void;
  /** Starts the desk events on this connection (no-op when already started). */
  subscribeDesk(): void;
  unsubscribeDesk(): void;
}

export interface DispatcherOptions {
  service: BatonService;
  config: BatonConfig;
  serverVersion: string;
  log: (line: string) => void;
  /** The desk; without one the desk methods answer that this helper has none. */
  desk?: DeskSource;
  /**
   * Where a refused request is recorded (a name outside the config, params the method does not
   * take): the daemon passes its rate-limited log, so a client cannot flood the journal with them.
   */
  refused?: (line: string) => void;
}

export type Dispatch = (request: JSONRPCRequest, ctx: ConnectionContext) => Promise<JSONRPCResponse | null>;

/** Refusals worth a log line: what a hostile or broken client asks for (names outside the config, bad params). */
const REFUSALS_LOGGED: readonly number[] = [RpcErrorCode.UnknownName, RpcErrorCode.InvalidParams];

/** Requesters only the helper records (a recovered switch, a key chord it saw itself); the protocol schema refuses them too. */
const HELPER_ONLY_REQUESTERS: readonly string[] = ['recovery', 'chord'];

type Params<M extends MethodName> = z.output<(typeof helperMethods)[M]['params']>;
type Result<M extends MethodName> = z.input<(typeof helperMethods)[M]['result']>;
type Handlers = { [M in MethodName]: (params: Params<M>, ctx: ConnectionContext) => Promise<Result<M>> };

function handlers({ service, config, serverVersion, desk }: DispatcherOptions): Handlers {
  const theDesk = (): DeskSource => {
    if (!desk) throw new JSONRPCErrorException('this helper serves no desk', RpcErrorCode.MethodNotFound);
    return desk;
  };
  return {
    hello: async (_params, ctx) => ({ protocol: PROTOCOL_VERSION, server: serverVersion, uid: ctx.uid }),
    status: () => service.status(),
    switch: async (params, ctx) => {
      if (HELPER_ONLY_REQUESTERS.includes(params.requestedBy)) {
        throw new JSONRPCErrorException(`switch: params.requestedBy: ${params.requestedBy} is recorded only by the helper itself, never asked for by a client`, RpcErrorCode.InvalidParams);
      }
      const gpu = allowedGpu(config, params.gpu);
      const target = allowedTarget(config, params.target);
      // requestedBy is the client's hint (the schema refuses the helper's own kinds); the peer is the kernel's word.
      return service.switchGpu({ gpu: gpu.name, target, requestedBy: params.requestedBy, peer: { uid: ctx.uid, user: ctx.user } });
    },
    history: async (params) => {
      const query = { ...params };
      if (query.gpu !== undefined) query.gpu = allowedGpu(config, query.gpu).name;
      if (query.vm !== undefined) allowedTarget(config, query.vm);
      const page = await service.history(query);
      return { entries: page.entries as Result<'history'>['entries'], total: page.total, ...(page.nextOffset !== undefined ? { nextOffset: page.nextOffset } : {}) };
    },
    reconcile: async () => ({ findings: await service.reconcile() }),
    subscribe: async (_params, ctx) => {
      ctx.subscribe();
      return { subscribed: true };
    },
    unsubscribe: async (_params, ctx) => {
      ctx.unsubscribe();
      return { subscribed: false };
    },
    'desk.snapshot': () => theDesk().snapshot(),
    'desk.subscribe': async (_params, ctx) => {
      // Subscribed before the snapshot is taken: nothing falls between the two.
      const source = theDesk();
      ctx.subscribeDesk();
      return { subscribed: true as const, snapshot: await source.snapshot() };
    },
    'desk.unsubscribe': async (_params, ctx) => {
      ctx.unsubscribeDesk();
      return { subscribed: false };
    },
    'desk.history': async (params) => {
      const query = { ...params };
      if (query.gpu !== undefined) query.gpu = allowedGpu(config, query.gpu).name;
      if (query.vm !== undefined) allowedTarget(config, query.vm);
      return theDesk().historyPage(query);
    },
  };
}

export function createDispatcher(opts: DispatcherOptions): Dispatch {
  const table = handlers(opts);
  const server = new JSONRPCServer<ConnectionContext>({
    // Refusals are expected answers, not incidents; only real failures reach the log.
    errorListener: (message, data) => {
      if (!(data instanceof JSONRPCErrorException)) opts.log(`${message} ${(data as Error)?.message ?? String(data)}`);
    },
  });
  server.handleMethodNotFound = async (request) =>
    createJSONRPCErrorResponse(
      request.id ?? null,
      RpcErrorCode.MethodNotFound,
      `unknown method ${JSON.stringify(request.method)}; the helper offers ${METHOD_NAMES.join(', ')}`,
    );

  const run = async <M extends MethodName>(method: M, raw: unknown, ctx: ConnectionContext): Promise<unknown> => {
    try {
      return await serveMethod(method, raw, ctx);
    } catch (err) {
      if (err instanceof JSONRPCErrorException && REFUSALS_LOGGED.includes(err.code)) {
        opts.refused?.(`refused ${method} from uid ${ctx.uid}${ctx.user ? ` (${ctx.user})` : ''}: ${err.message.slice(0, 400)}`);
      }
      throw err;
    }
  };
  const serveMethod = async <M extends MethodName>(method: M, raw: unknown, ctx: ConnectionContext): Promise<unknown> => {
    const params = helperMethods[method].params.safeParse(raw);
    if (!params.success) throw new JSONRPCErrorException(`${method}: ${describeIssues(params.error, 'params')}`, RpcErrorCode.InvalidParams);
    let result: unknown;
    try {
      result = await table[method](params.data as Params<M>, ctx);
    } catch (err) {
      if (err instanceof JSONRPCErrorException) throw err;
      // The service's own refusals ("GPU busy", "VM not running") go to the client as they are.
      throw new JSONRPCErrorException(`${method}: ${(err as Error)?.message ?? String(err)}`, RpcErrorCode.ServiceError);
    }
    const checked = helperMethods[method].result.safeParse(result);
    if (!checked.success) {
      const text = `the service returned an invalid ${method} result (${describeIssues(checked.error, 'result')})`;
      opts.log(text);
      throw new JSONRPCErrorException(`${text}; this is a bug in the helper`, RpcErrorCode.InternalError);
    }
    return checked.data;
  };
  for (const method of METHOD_NAMES) server.addMethod(method, (raw, ctx) => run(method, raw, ctx));

  return async (request, ctx) => {
    // hasOwnProperty-style check: "constructor" or "__proto__" must not reach a handler table.
    if (!isMethodName(request.method)) return server.handleMethodNotFound(request, ctx);
    return server.receive(request, ctx);
  };
}
