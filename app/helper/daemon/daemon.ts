// The root helper daemon: serves BatonService over JSON-RPC on a Unix socket to the users the
// config allows. It owns the socket and the connections, and bounds what clients can take: open
// connections in all and per uid (answered "busy", never reset), unsent bytes in all, log lines.
// The caps are the daemon's own, applied once SO_PEERCRED says who connects (Node's
// server.maxConnections drops at accept, before anyone knows whose connection it is, so a flood
// from one uid would shut out the rest). A refused connection never takes a served slot; it is held
// a moment so its client can read why, and only a few per uid at once: past that it is closed
// unanswered (and counted in the rate-limited log). The service owns everything else.
import { createServer, type Socket } from 'node:net';
import type { BatonConfig } from '../../domain/config/index.js';
import type { BatonService } from '../../domain/switch/service.js';
import { DEFAULT_SOCKET_PATH, MAX_LINE_BYTES } from '../../protocol/helper-protocol.js';
import { RpcErrorCode } from '../../protocol/rpc-errors.js';
import { findGroup, SYSTEM_ACCOUNT_FILES, type AccountFiles } from './accounts.js';
import { configAuthorizer, type Authorizer } from './authorize.js';
import { closeWithError, credentialsOf, serveConnection, type ConnectionLimits } from './connection.js';
import { EventHub } from './event-hub.js';
import { applySocketAccess, listen, listenOnPath, type SocketAccess } from './listen.js';
import { DEFAULT_LOG_LIMIT, RateLimitedLog, type LogLimit } from './log-limiter.js';
import { createDispatcher } from '../rpc/dispatcher.js';
import type { DeskSource } from '../desk/source.js';

export interface DaemonLimits extends ConnectionLimits {
  /** Connections served at once, from everyone. */
  maxConnections: number;
  /** Connections served at once for one uid, so one user cannot lock the others out. */
  maxConnectionsPerUid: number;
  /** Unsent bytes across every connection; a send past it drops the connection that sends. */
  maxTotalBufferedBytes: number;
  /** Refused connections held open (so the client reads why) at once for one uid, and for all; past either, a refusal closes at once. */
  maxLingeringRefusalsPerUid: number;
  maxLingeringRefusals: number;
  /** How long a refused connection is held at most, waiting for its client to read and close. */
  refusalLingerMs: number;
}

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
  limits?: Partial<DaemonLimits>;
  logLimit?: LogLimit;
  log?: (line: string) => void;
}

export interface DaemonStats {
  connections: number;
  /** Unsent bytes of every connection now, and the most there ever were at once. */
  bufferedBytes: number;
  peakBufferedBytes: number;
  /** Log lines the rate limit kept back. */
  suppressedLogLines: number;
}

export interface Daemon {
  /** Where clients connect (the path, also under socket activation when known). */
  socketPath: string;
  connections(): number;
  stats(): DaemonStats;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: DaemonLimits = {
  maxLineBytes: MAX_LINE_BYTES,
  maxInFlight: 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  pauseAboveBytes: 1024 * 1024,
  idleTimeoutMs: 60_000,
  lineTimeoutMs: 10_000,
  maxConnections: 256,
  maxConnectionsPerUid: 32,
  maxTotalBufferedBytes: 64 * 1024 * 1024,
  maxLingeringRefusalsPerUid: 4,
  maxLingeringRefusals: 64,
  refusalLingerMs: 1000,
};
/** Open connections at once. Kept for callers of the old name. */
export const MAX_CONNECTIONS = DEFAULT_LIMITS.maxConnections;

/** 0660 to the helper group; 0666 when helper.users names people outside it, who must reach the socket too. */
export function socketAccessFor(config: BatonConfig, files: AccountFiles): SocketAccess {
  const group = findGroup(files, config.helper.group);
  return { mode: config.helper.users.length ? 0o666 : 0o660, gid: group?.gid ?? null };
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const rawLog = opts.log ?? ((line: string) => process.stderr.write(`baton-helper: ${line}\n`));
  const log = new RateLimitedLog(rawLog, opts.logLimit ?? DEFAULT_LOG_LIMIT);
  const files = opts.accountFiles ?? SYSTEM_ACCOUNT_FILES;
  const socketPath = opts.socketPath ?? opts.config.helper.socket ?? DEFAULT_SOCKET_PATH;
  const authorize = opts.authorize ?? configAuthorizer(opts.config.helper, files);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const hub = new EventHub(opts.service, rawLog);
  const dispatch = createDispatcher({
    service: opts.service, config: opts.config, serverVersion: opts.serverVersion ?? 'unknown', log: rawLog,
    refused: (line) => log.line('refused-request', line),
    ...(opts.desk ? { desk: opts.desk } : {}),
  });
  const sockets = new Set<Socket>();
  const served = new Map<number, number>();
  let servedTotal = 0;
  let peakBufferedBytes = 0;

  const bufferedBytes = () => {
    let total = 0;
    for (const s of sockets) total += s.writableLength;
    return total;
  };
  const budget = {
    buffered: bufferedBytes,
    maxTotalBytes: limits.maxTotalBufferedBytes,
    wrote: () => void (peakBufferedBytes = Math.max(peakBufferedBytes, bufferedBytes())),
  };

  // Refused connections waiting for their client to read why, by uid (-1: credentials unreadable).
  const lingering = new Map<number, number>();
  let lingeringTotal = 0;
  const refuse = (socket: Socket, uid: number, kind: string, logText: string, code: number, message: string) => {
    const mine = lingering.get(uid) ?? 0;
    if (mine >= limits.maxLingeringRefusalsPerUid || lingeringTotal >= limits.maxLingeringRefusals) {
      log.line(kind, `${logText} (closed unanswered: ${mine} refusals of this uid and ${lingeringTotal} in all already wait to be read)`);
      socket.destroy();
      return;
    }
    log.line(kind, logText);
    lingering.set(uid, mine + 1);
    lingeringTotal++;
    socket.once('close', () => {
      lingeringTotal--;
      const left = (lingering.get(uid) ?? 1) - 1;
      if (left > 0) lingering.set(uid, left);
      else lingering.delete(uid);
    });
    closeWithError(socket, code, message, limits.refusalLingerMs);
  };

  const accept = (socket: Socket) => {
    const peer = credentialsOf(socket);
    if (typeof peer === 'string') {
      return refuse(socket, -1, 'refused', `refused a connection: cannot read its peer credentials (${peer})`, RpcErrorCode.NotAuthorized, `cannot tell who is connecting: ${peer}`);
    }
    const verdict = authorize(peer);
    if (!verdict.allowed) {
      return refuse(socket, peer.uid, 'refused', `refused pid ${peer.pid}: ${verdict.reason}`, RpcErrorCode.NotAuthorized, verdict.reason);
    }
    const mine = served.get(peer.uid) ?? 0;
    if (mine >= limits.maxConnectionsPerUid) {
      return refuse(socket, peer.uid, 'busy', `busy: refused pid ${peer.pid} of ${verdict.who}, who has ${mine} connections open (limit ${limits.maxConnectionsPerUid} per user)`,
        RpcErrorCode.Busy, `busy: ${verdict.who} already has ${mine} connections to the helper open (limit ${limits.maxConnectionsPerUid} per user); close some and try again`);
    }
    if (servedTotal >= limits.maxConnections) {
      return refuse(socket, peer.uid, 'busy', `busy: refused pid ${peer.pid} of ${verdict.who}: ${servedTotal} connections open (limit ${limits.maxConnections})`,
        RpcErrorCode.Busy, `busy: the helper serves ${servedTotal} connections already (limit ${limits.maxConnections}); try again shortly`);
    }
    served.set(peer.uid, mine + 1);
    servedTotal++;
    socket.once('close', () => {
      servedTotal--;
      const left = (served.get(peer.uid) ?? 1) - 1;
      if (left > 0) served.set(peer.uid, left);
      else served.delete(peer.uid);
    });
    serveConnection(socket, peer, verdict.who, verdict.user, { dispatch, hub, limits, budget, log, ...(opts.desk ? { desk: opts.desk } : {}) });
  };

  // allowHalfOpen: a client may send its request and shut its side; the answer still goes back.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    try {
      accept(socket);
    } catch (err) {
      log.line('internal-error', `connection failed: ${(err as Error).message}`);
      socket.destroy();
    }
  });
  server.on('error', (err) => rawLog(`server error: ${err.message}`));

  const access = socketAccessFor(opts.config, files);
  if (access.gid === null && !opts.authorize) rawLog(`group ${opts.config.helper.group} does not exist: only root${opts.config.helper.users.length ? ' and helper.users' : ''} can connect`);
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
      rawLog(`cannot set access on ${socketPath}: ${(err as Error).message}`);
    }
  }
  rawLog(`listening on ${opts.listenFd !== undefined ? `fd ${opts.listenFd} (${socketPath})` : socketPath}`);

  return {
    socketPath,
    connections: () => sockets.size,
    stats: () => ({ connections: sockets.size, bufferedBytes: bufferedBytes(), peakBufferedBytes, suppressedLogLines: log.suppressed() }),
    close: () =>
      new Promise((resolve) => {
        hub.close();
        log.flush();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
