// Who may use `baton ui`: a request must name this server in Host (a rebinding page cannot), come
// from this server's own origin when it says where it comes from (a foreign page cannot), and carry
// the token: in the cookie the token URL sets, an Authorization header, or a WebSocket subprotocol.
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
  readonly cookieName: string;

  constructor(private readonly token: string, host: string, port: number) {
    const names = [authorityOf(host, port)];
    // "localhost" resolves only to the loopback (RFC 6761): a page cannot rebind it to elsewhere.
    if (isLoopback(host)) names.push(`localhost:${port}`);
    this.hosts = new Set(names);
    this.origins = new Set(names.map((n) => `http://${n}`));
    // Cookies are shared between ports of one host; the port in the name keeps two instances apart.
    this.cookieName = `baton_ui_${port}`;
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

  /** The token from the cookie or an Authorization: Bearer header. */
  checkToken(req: IncomingMessage, extra?: string | null): Verdict {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const cookie = cookieValue(req.headers.cookie, this.cookieName);
    const offered = [bearer, cookie, extra].filter((t): t is string => typeof t === 'string' && t.length > 0);
    if (!offered.length) return { ok: false, status: 401, reason: 'refused: no token; open the URL `baton ui` printed' };
    if (!offered.some((t) => this.matches(t))) return { ok: false, status: 403, reason: 'refused: wrong token; open the URL `baton ui` printed' };
    return { ok: true };
  }

  /** The Set-Cookie that lets the browser come back without the token in the URL. */
  cookie(): string {
    return `${this.cookieName}=${this.token}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The token offered as a subprotocol ("baton.token.<token>"), if any. */
export function tokenFromSubprotocols(header: string | undefined): string | null {
  for (const p of (header ?? '').split(',')) {
    const t = p.trim();
    if (t.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return t.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  }
  return null;
}
