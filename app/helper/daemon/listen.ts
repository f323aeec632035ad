// Where the helper listens: its own Unix socket (parent folder made, stale socket cleared, mode and
// group set), or the socket systemd opened for it (socket activation, fd 3).
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';
import { ensureFolder, FolderError } from './folders.js';

/** The helper cannot start; the message says why and what to do. */
export class DaemonStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaemonStartError';
  }
}

/** sd_listen_fds(3): the first passed fd is 3. */
const SD_LISTEN_FDS_START = 3;

/**
 * The listening fd systemd passed, or null when not socket-activated. Clears the variables so a
 * child process does not take them as its own.
 */
export function takeSystemdListenFd(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const { LISTEN_PID, LISTEN_FDS } = env;
  if (LISTEN_FDS === undefined) return null;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (LISTEN_PID !== String(pid)) return null;
  if (LISTEN_FDS !== '1') throw new DaemonStartError(`systemd passed ${LISTEN_FDS} sockets; baton-helper.socket must have exactly one ListenStream`);
  return SD_LISTEN_FDS_START;
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const done = (answered: boolean) => {
      sock.destroy();
      resolve(answered);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}

/** Removes a socket left by a helper that died; refuses when one still answers or the path is not a socket. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new DaemonStartError(`${path} exists and is not a socket; move it away or choose another --socket`);
  if (await probe(path)) throw new DaemonStartError(`another helper is already answering on ${path}; stop it first (systemctl stop baton-helper)`);
  unlinkSync(path);
}

export interface SocketAccess {
  /** 0o660 when only the group may connect; 0o666 when listed users outside the group must reach it too. */
  mode: number;
  /** The group that may connect, or null when it does not exist here. */
  gid: number | null;
}

/** Sets who may open the socket file; peer credentials are still checked on every connection. */
export function applySocketAccess(path: string, access: SocketAccess): void {
  chmodSync(path, access.mode);
  if (access.gid !== null) chownSync(path, -1, access.gid);
}

export async function listenOnPath(server: Server, path: string, access: SocketAccess): Promise<void> {
  try {
    ensureFolder(dirname(path), 0o755, 'the helper socket');
  } catch (err) {
    if (err instanceof FolderError) throw new DaemonStartError(err.message);
    throw err;
  }
  await clearStaleSocket(path);
  await listen(server, path);
  applySocketAccess(path, access);
}

export function listen(server: Server, where: string | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new DaemonStartError(`cannot listen on ${typeof where === 'string' ? where : `fd ${where.fd}`}: ${err.code ?? err.message}`));
    server.once('error', fail);
    server.listen(where, () => {
      server.off('error', fail);
      resolve();
    });
  });
}
