// How the client commands talk to the helper: connect to --socket, call, and turn what can go
// wrong (no helper, not allowed, refused request) into one "baton: ..." line.
import { DEFAULT_SOCKET_PATH } from '../../protocol/helper-protocol.js';
import { connectHelper, HelperConnectError, type HelperClient } from '../../protocol/helper-client.js';
import { HelperRpcError } from '../../protocol/rpc-errors.js';
import { UserError } from '../output.js';

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

export function asUserError(err: unknown): unknown {
  if (err instanceof HelperConnectError || err instanceof HelperRpcError) return new UserError(err.message);
  return err;
}

/** Runs `work` on a connection to the helper, always closing it. */
export async function withHelper<T>(socketPath: string, work: (client: HelperClient) => Promise<T>): Promise<T> {
  let client: HelperClient | undefined;
  try {
    client = await connectHelper(socketPath);
    return await work(client);
  } catch (err) {
    throw asUserError(err);
  } finally {
    client?.close();
  }
}
