// How the client commands talk to the helper: find its socket (--socket, then BATON_SOCKET, then
// the config's helper.socket, then the default), connect, call under a deadline, and turn what
// can go wrong (no helper, not allowed, refused request, no answer) into one "baton: ..." line.
import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH } from '../../domain/config/names.js';
import { DEFAULT_SOCKET_PATH, METHOD_NAMES, type MethodName } from '../../protocol/helper-protocol.js';
import { connectHelper, HelperConnectError, HelperLostError, HelperTimeoutError, type HelperClient } from '../../protocol/helper-client.js';
import { HelperRpcError } from '../../protocol/rpc-errors.js';
import { UsageError, UserError } from '../output.js';

export { DEFAULT_SOCKET_PATH };

/** Where a command writes; the commands take one so tests can read what they print. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The options every client command takes to find the helper. */
export interface HelperTarget {
  socket?: string;
  config?: string;
  /** --timeout: seconds, for every call. */
  timeout?: string;
}

/** Every call's deadline from --timeout, or the client's defaults. */
function callTimeouts(target: HelperTarget): Partial<Record<MethodName, number>> {
  if (target.timeout === undefined) return {};
  const seconds = Number(target.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) throw new UsageError(`--timeout ${target.timeout}: expected seconds, more than 0 and at most 86400`);
  const ms = Math.round(seconds * 1000);
  return Object.fromEntries(METHOD_NAMES.map((m) => [m, ms]));
}

export interface SocketChoice {
  path: string;
  /** Where the path came from, for messages: "--socket", "BATON_SOCKET", "helper.socket in FILE", "the default". */
  from: string;
}

/** --socket, then $BATON_SOCKET, then helper.socket of the config (--config or the default file), then the default. */
export async function resolveSocket(target: HelperTarget, env: NodeJS.ProcessEnv = process.env, io: CliIo = processIo): Promise<SocketChoice> {
  if (target.socket) return { path: target.socket, from: '--socket' };
  if (env.BATON_SOCKET) return { path: env.BATON_SOCKET, from: 'BATON_SOCKET' };
  // Loaded only when there is a config to read: the schema and the parser cost ~100 ms of start-up.
  const file = target.config ?? DEFAULT_CONFIG_PATH;
  if (target.config !== undefined || existsSync(file)) {
    const [{ formatConfigError }, { loadConfigFile, ConfigReadError }] = await Promise.all([import('../../domain/config/index.js'), import('../../host/config/load.js')]);
    try {
      const result = loadConfigFile(file);
      if (result.ok) return { path: result.config.helper.socket, from: `helper.socket in ${file}` };
      if (target.config !== undefined) throw new UserError(`${file} has errors (baton config check ${file}):`, result.errors.map(formatConfigError));
      io.err(`baton: warning: ${file} has errors, so its helper.socket is not used (baton config check ${file})\n`);
    } catch (err) {
      if (!(err instanceof ConfigReadError)) throw err;
      if (target.config !== undefined) throw new UserError(err.message);
      io.err(`baton: warning: ${err.message}; using the default socket\n`);
    }
  }
  return { path: DEFAULT_SOCKET_PATH, from: 'the default' };
}

export function asUserError(err: unknown, choice?: SocketChoice): unknown {
  const where = choice && choice.from !== '--socket' ? ` (socket from ${choice.from})` : '';
  if (err instanceof HelperConnectError || err instanceof HelperLostError || err instanceof HelperTimeoutError) return new UserError(`${err.message}${where}`);
  if (err instanceof HelperRpcError) return new UserError(err.message);
  return err;
}

/** Runs `work` on a connection to the helper, always closing it. */
export async function withHelper<T>(target: HelperTarget, work: (client: HelperClient, choice: SocketChoice) => Promise<T>): Promise<T> {
  const timeouts = callTimeouts(target);
  const choice = await resolveSocket(target);
  let client: HelperClient | undefined;
  try {
    client = await connectHelper(choice.path, { callTimeoutsMs: timeouts });
    return await work(client, choice);
  } catch (err) {
    throw asUserError(err, choice);
  } finally {
    client?.close();
  }
}
