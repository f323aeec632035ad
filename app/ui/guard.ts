// Who may use `baton ui`: a request must name this server in Host (a rebinding page cannot) and come
// from this server's own origin when it says where it comes from (a foreign page cannot). The
// WebSocket, the only thing that reaches the helper, also needs the token, and only as a subprotocol
// ("baton.token.<token>"): never in a cookie (browsers share cookies between the ports of a host,
// so another local user's server on 127.0.0.1 would receive it) and never in a URL (URLs land in
// logs). The page reads it from the URL fragment, which no browser sends to any server.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { authorityOf, isLoopback } from './listen-address.js';

export const TOKEN_SUBPROTOCOL_PREFIX = 'baton.token.';
/** The subprotocol the server answers with; a browser that offers subprotocols must offer this one. */
export const BRIDGE_SUBPROTOCOL = 'baton.v1';

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export class RequestGuard {
  readonly hosts: ReadonlySet<string>;
  readonly origins: ReadonlySet<string>;

  constructor(private readonly token: string, host: string, port: number) {
    const names = [authorityOf(host, port)];
    // "localhost" resolves only to the loopback (RFC 6761): a page cannot rebind it to elsewhere.
    if (isLoopback(host)) names.push(`localhost:${port}`);
    this.hosts = new Set(names);
    this.origins = new Set(names.map((n) => `http://${n}`));
  }

  matches(candidate: string | undefined | null): boolean {
    if (!candidate) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Host and Origin: the same for every request, page or WebSocket. */
  checkPlace(req: IncomingMessage, originRequired: boolean): Verdict {
    const host = req.headers.host;
    if (!host || !this.hosts.has(host.toLowerCase())) {
      return { ok: false, status: 403, reason: `refused: Host ${JSON.stringify(host ?? '')} is not this server (${[...this.hosts].join(' or ')})` };
    }
    const origin = req.headers.origin;
    if (origin === undefined ? originRequired : !this.origins.has(origin.toLowerCase())) {
      return { ok: false, status: 403, reason: `refused: Origin ${JSON.stringify(origin ?? '')} is not this server` };
    }
    return { ok: true };
  }

  /** The token a WebSocket upgrade offers as its subprotocol: the only place it is taken from. */
  checkToken(req: IncomingMessage): Verdict {
    const offered = tokenFromSubprotocols(req.headers['sec-websocket-protocol']);
    if (!offered) return { ok: false, status: 401, reason: 'refused: no token (offer the subprotocol baton.token.<token>); open the URL `baton ui` printed' };
    if (!this.matches(offered)) return { ok: false, status: 403, reason: 'refused: wrong token; open the URL `baton ui` printed' };
    return { ok: true };
  }
}

/** The token offered as a subprotocol ("baton.token.<token>"), if any. */
export function tokenFromSubprotocols(header: string | undefined): string | null {
  for (const p of (header ?? '').split(',')) {
    const t = p.trim();
    if (t.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return t.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  }
  return null;
}
