import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createExploreApi, type ExploreApi } from '../explore/api.js';
import type { Ledger } from '../ledger.js';
import type { TokenRecord } from '../model/token.js';
import type { TokenGate } from './auth.js';

/** Where `serve` mounts the incident explorer. */
export const UI_PREFIX = '/ui/';
/** The session cookie's name. */
export const UI_COOKIE = 'pasid_ui';
/** How long a session lasts at most (it ends sooner when its token is revoked). */
export const UI_SESSION_MS = 12 * 3600 * 1000;
/** Sessions held at once; the oldest goes first beyond this. */
const MAX_SESSIONS = 1000;

/** What a /ui/ request got: answered already, or let through with the token it acts as. */
type Outcome = { answered: true } | { answered: false; who: TokenRecord };

/**
 * The incident explorer inside `serve`, under `/ui/`, for admin and auditor tokens.
 *
 * A request authenticates with `Authorization: Bearer SECRET` or with the session cookie.
 * `GET /ui/?token=SECRET` (what a browser can open) trades a valid secret for a session:
 * a random id held in memory, mapped to the token's id (never to the secret), in an
 * HttpOnly, SameSite=Strict cookie for Path=/ui/, then redirects to the same URL without
 * the secret. A session ends after `UI_SESSION_MS` or with the server; every request
 * looks its token up again in the log, so a revoked token's sessions stop at once.
 *
 * The explorer (`createExploreApi` over the server's read-only handle) is made on the
 * first authorised request, so a server nobody browses pays nothing for it.
 *
 * @example
 * const ui = new ServeUi(ledger, gate);
 * if (ui.owns(path)) return ui.handle(req, res, url);
 */
export class ServeUi {
  private readonly sessions = new Map<string, { token: string; expires: number }>();
  private api: ExploreApi | null = null;

  /** `checkpoint`: the signed checkpoint "download evidence" proves against (serve's latest), if any. */
  constructor(private readonly ledger: Ledger, private readonly gate: TokenGate, private readonly now: () => number = Date.now, private readonly checkpoint?: () => string | null) {}

  /** Whether a path is the explorer's. */
  owns(path: string): boolean {
    return path === UI_PREFIX.slice(0, -1) || path.startsWith(UI_PREFIX);
  }

  /** Sessions held now (for tests and metrics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Answers one request under /ui/. Never throws for a client's input. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, fail: (status: number, error: string, why: string) => void): void {
    if (url.pathname === UI_PREFIX.slice(0, -1)) {
      res.writeHead(308, { Location: UI_PREFIX });
      res.end();
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return fail(405, 'the explorer only reads: GET or HEAD', 'invalid');
    }
    const auth = url.searchParams.has('token') ? this.login(req, res, url, fail) : this.authenticate(req, res, fail);
    if (auth.answered) return;
    if (auth.who.role === 'vmm') return fail(403, 'the explorer is for admin and auditor tokens, not a vmm token', 'forbidden');
    let api: ExploreApi;
    try {
      api = this.explorer();
    } catch (e) {
      return fail(503, `the explorer is not available: ${(e as Error).message}`, 'internal');
    }
    if (!api.handle(req, res)) fail(404, `no such resource: ${url.pathname}`, 'invalid');
  }

  /** Stops the explorer's start-up pass (at server stop) and forgets every session. */
  close(): void {
    this.api?.close();
    this.sessions.clear();
  }

  private explorer(): ExploreApi {
    this.api ??= createExploreApi(this.ledger.db, { prefix: UI_PREFIX, ...(this.checkpoint ? { checkpoint: this.checkpoint } : {}) });
    return this.api;
  }

  /** `?token=SECRET`: a valid admin or auditor secret becomes a session cookie, then a redirect without it. */
  private login(req: IncomingMessage, res: ServerResponse, url: URL, fail: (status: number, error: string, why: string) => void): Outcome {
    const who = this.gate.bySecret(url.searchParams.get('token') ?? '');
    if (!who) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      fail(401, 'the token in ?token= is not a valid token', 'unauthorized');
      return { answered: true };
    }
    if (who.role === 'vmm') {
      fail(403, 'the explorer is for admin and auditor tokens, not a vmm token', 'forbidden');
      return { answered: true };
    }
    const sid = randomBytes(32).toString('base64url');
    this.prune();
    this.sessions.set(sid, { token: who.token, expires: this.now() + UI_SESSION_MS });
    const rest = new URLSearchParams(url.searchParams);
    rest.delete('token');
    const q = rest.toString();
    const secure = (req.socket as TLSSocket).encrypted === true ? '; Secure' : '';
    res.writeHead(303, {
      Location: `${url.pathname}${q ? `?${q}` : ''}`,
      'Set-Cookie': `${UI_COOKIE}=${sid}; Path=${UI_PREFIX}; HttpOnly; SameSite=Strict; Max-Age=${UI_SESSION_MS / 1000}${secure}`,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Length': '0',
    });
    res.end();
    return { answered: true };
  }

  /** A bearer header, else the session cookie; 401 when neither names a valid token. */
  private authenticate(req: IncomingMessage, res: ServerResponse, fail: (status: number, error: string, why: string) => void): Outcome {
    if (req.headers.authorization !== undefined) {
      const who = this.gate.authenticate(req);
      if (who) return { answered: false, who };
    } else {
      const sid = cookie(req.headers.cookie, UI_COOKIE);
      const s = sid === null ? undefined : this.sessions.get(sid);
      if (s) {
        const who = s.expires > this.now() ? this.gate.validById(s.token) : null;
        if (who) return { answered: false, who };
        this.sessions.delete(sid!);
      }
    }
    res.setHeader('WWW-Authenticate', 'Bearer');
    fail(401, `a valid token is required: Authorization: Bearer TOKEN, or open ${UI_PREFIX}?token=TOKEN once in a browser`, 'unauthorized');
    return { answered: true };
  }

  /** Drops expired sessions and, past the bound, the oldest. */
  private prune(): void {
    const now = this.now();
    for (const [sid, s] of this.sessions) if (s.expires <= now) this.sessions.delete(sid);
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
  }
}

/** The value of cookie `name` in a Cookie header, or null. */
function cookie(header: string | undefined, name: string): string | null {
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(v) ? v : null;
    }
  }
  return null;
}
