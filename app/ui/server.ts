// `baton ui`'s server: the built renderer over HTTP and the helper protocol over a WebSocket at /ws,
// both behind the Host and Origin checks (guard.ts), both bounded, on one address (127.0.0.1 by
// default). The files hold no secret and are served to anyone who names this server; the WebSocket
// takes the token, as a subprotocol only.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { MAX_LINE_BYTES } from '../protocol/helper-protocol.js';
import { bridgeSocket, DEFAULT_BRIDGE_LIMITS, type BridgeLimits } from './bridge.js';
import { BRIDGE_SUBPROTOCOL, RequestGuard } from './guard.js';
import { authorityOf, DEFAULT_LISTEN, type ListenAddress } from './listen-address.js';
import { StaticFiles } from './static-files.js';

export const WS_PATH = '/ws';
/** Browser tabs at once; more WebSocket upgrades are answered 503. */
export const MAX_CLIENTS = 16;
/** HTTP connections at once (Node drops more before reading them). */
export const MAX_HTTP_CONNECTIONS = 64;

export interface UiOptions {
  socketPath: string;
  listen?: ListenAddress;
  /** The built renderer (renderer/dist). */
  distDir: string;
  /** Fixed token for tests; a random one by default. */
  token?: string;
  maxClients?: number;
  bridgeLimits?: BridgeLimits;
  log?: (line: string) => void;
}

export interface UiServer {
  /** The URL to open, the token in its fragment (never sent to a server): http://127.0.0.1:PORT/#token=... */
  url: string;
  /** The origin without the token. */
  origin: string;
  token: string;
  host: string;
  port: number;
  clients(): number;
  close(): Promise<void>;
}

function securityHeaders(authority: string): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      `connect-src 'self' ws://${authority}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    // The desk and everything behind it: nothing of it in a cache.
    'Cache-Control': 'no-store',
  };
}

export async function startUi(options: UiOptions): Promise<UiServer> {
  const listen = options.listen ?? DEFAULT_LISTEN;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const log = options.log ?? (() => {});
  const files = new StaticFiles(options.distDir);
  const maxClients = options.maxClients ?? MAX_CLIENTS;
  const sockets = new Set<Socket>();
  let guard: RequestGuard | null = null;
  let headers: Record<string, string> = {};

  const refuse = (res: ServerResponse, status: number, reason: string) => {
    res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(reason + '\n');
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const g = guard!;
    const place = g.checkPlace(req, false);
    if (!place.ok) return refuse(res, place.status, place.reason);
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, `refused: ${req.method} (only GET and HEAD)`);
    const url = new URL(req.url ?? '/', 'http://local');
    // An old-style URL (?token=) has already put the token where logs see it: say where it goes now.
    if (url.searchParams.has('token')) return refuse(res, 400, 'refused: the token goes in the URL fragment (#token=...), never in the query; open the URL `baton ui` printed');
    const answer = files.read(url.pathname);
    res.writeHead(answer.status, { ...headers, 'Content-Type': answer.type, 'Content-Length': String(answer.body.length) });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  };

  const server = createServer(onRequest);
  server.maxConnections = MAX_HTTP_CONNECTIONS;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_LINE_BYTES,
    // The token subprotocol is never echoed: the answer names the bridge's own.
    handleProtocols: (protocols) => (protocols.has(BRIDGE_SUBPROTOCOL) ? BRIDGE_SUBPROTOCOL : false),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const g = guard!;
    const deny = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 503 ? 'Service Unavailable' : status === 404 ? 'Not Found' : 'Forbidden'}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(reason + '\n')}\r\n\r\n${reason}\n`);
      log(`refused a WebSocket: ${reason}`);
    };
    socket.on('error', () => {});
    if (new URL(req.url ?? '/', 'http://local').pathname !== WS_PATH) return deny(404, `no WebSocket here; it is at ${WS_PATH}`);
    const place = g.checkPlace(req, true);
    if (!place.ok) return deny(place.status, place.reason);
    const auth = g.checkToken(req);
    if (!auth.ok) return deny(auth.status, auth.reason);
    if (wss.clients.size >= maxClients) return deny(503, `refused: ${maxClients} desk connections are open already`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      void bridgeSocket(ws, options.socketPath, options.bridgeLimits ?? DEFAULT_BRIDGE_LIMITS);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  guard = new RequestGuard(token, listen.host, port);
  const authority = authorityOf(listen.host, port);
  headers = securityHeaders(authority);
  if (!files.built) log(`the renderer is not built (${options.distDir}); serving a page that says so`);

  return {
    url: `http://${authority}/#token=${token}`,
    origin: `http://${authority}`,
    token,
    host: listen.host,
    port,
    clients: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
