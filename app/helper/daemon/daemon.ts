// The root helper daemon: serves BatonService over JSON-RPC on a Unix socket to the users the
// config allows. It owns the socket and the connections; the service owns everything else.
import { createServer, type Socket } from 'node:net';
import type { BatonConfig } from '../../domain/config/index.js';
import type { BatonService } from '../../domain/switch/service.js';
import { DEFAULT_SOCKET_PATH, MAX_LINE_BYTES } from '../../protocol/helper-protocol.js';
import { findGroup, SYSTEM_ACCOUNT_FILES, type AccountFiles } from './accounts.js';
import { configAuthorizer, type Authorizer } from './authorize.js';
import { serveConnection, type ConnectionLimits } from './connection.js';
import { EventHub } from './event-hub.js';
import { applySocketAccess, listen, listenOnPath, type SocketAccess } from './listen.js';
import { createDispatcher } from '../rpc/dispatcher.js';
import type { DeskSource } from '../desk/source.js';

export interface DaemonOptions {
  service: BatonService;
  /** The desk view and its events (app/helper/desk); the desk methods are refused without it. */
  desk?: DeskSource;
  config: BatonConfig;
  /** Defaults to the config's helper.socket. Ignored for listening when `listenFd` is given. */
  socketPath?: string;
  /** A socket systemd already listens on (socket activation). */
  listenFd?: number;
  /** Defaults to the config's rule: root, helper.users, members of helper.group. */
  authorize?: Authorizer;
  accountFiles?: AccountFiles;
  serverVersion?: string;
  limits?: Partial<ConnectionLimits>;
  log?: (line: string) => void;
}

export interface Daemon {
  /** Where clients connect (the path, also under socket activation when known). */
  socketPath: string;
  connections(): number;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: ConnectionLimits = { maxLineBytes: MAX_LINE_BYTES, maxInFlight: 1024, maxBufferedBytes: 16 * 1024 * 1024 };
/** Open connections at once; more are dropped by Node before any byte is read. */
export const MAX_CONNECTIONS = 256;

/** 0660 to the helper group; 0666 when helper.users names people outside it, who must reach the socket too. */
export function socketAccessFor(config: BatonConfig, files: AccountFiles): SocketAccess {
  const group = findGroup(files, config.helper.group);
  return { mode: config.helper.users.length ? 0o666 : 0o660, gid: group?.gid ?? null };
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`baton-helper: ${line}\n`));
  const files = opts.accountFiles ?? SYSTEM_ACCOUNT_FILES;
  const socketPath = opts.socketPath ?? opts.config.helper.socket ?? DEFAULT_SOCKET_PATH;
  const authorize = opts.authorize ?? configAuthorizer(opts.config.helper, files);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const hub = new EventHub(opts.service, log);
  const dispatch = createDispatcher({ service: opts.service, config: opts.config, serverVersion: opts.serverVersion ?? 'unknown', log, ...(opts.desk ? { desk: opts.desk } : {}) });
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    try {
      serveConnection(socket, { dispatch, authorize, hub, limits, log, ...(opts.desk ? { desk: opts.desk } : {}) });
    } catch (err) {
      log(`connection failed: ${(err as Error).message}`);
      socket.destroy();
    }
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('drop', () => log(`dropped a connection: ${MAX_CONNECTIONS} already open`));
  server.on('error', (err) => log(`server error: ${err.message}`));

  const access = socketAccessFor(opts.config, files);
  if (access.gid === null) log(`group ${opts.config.helper.group} does not exist: only root${opts.config.helper.users.length ? ' and helper.users' : ''} can connect`);
  try {
    if (opts.listenFd !== undefined) {
      await listen(server, { fd: opts.listenFd });
    } else {
      await listenOnPath(server, socketPath, access);
    }
  } catch (err) {
    hub.close();
    throw err;
  }
  if (opts.listenFd !== undefined) {
    // systemd made the file (SocketMode, SocketGroup); widen it only when helper.users needs that.
    try {
      if (access.mode !== 0o660) applySocketAccess(socketPath, access);
    } catch (err) {
      log(`cannot set access on ${socketPath}: ${(err as Error).message}`);
    }
  }
  log(`listening on ${opts.listenFd !== undefined ? `fd ${opts.listenFd} (${socketPath})` : socketPath}`);

  return {
    socketPath,
    connections: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        hub.close();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
