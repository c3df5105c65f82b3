import type { RequestEntry } from '../model/types.js';
import type { TokenEntry } from '../model/token.js';

/** One server token in the audit: its grant, its revocation, and the requests made with it. */
export interface TokenReport {
  token: string;
  role: string;
  vm: string | null;
  added: number;
  revoked: number | null;
  requests: number;
  /** Requests refused by the kernel (negative ret). */
  denied: number;
  /** Requests that name this token although it was revoked or never granted at their seq. */
  unauthorized: number[];
}

/**
 * The server tokens of a log (`token` entries) and the requests recorded with `by`.
 * A request through a token that was not valid at its seq is listed: the server never
 * writes one, so it means another writer forged `by`.
 *
 * @example
 * const a = new TokenAccount(); a.token(grant); a.request(req); a.report();
 */
export class TokenAccount {
  private readonly tokens = new Map<string, TokenReport>();
  /** Problems with token entries themselves (a revoke of an unknown token, a bad role). */
  readonly problems: Array<{ seq: number; problem: string }> = [];

  token(e: TokenEntry): void {
    if (e.action === 'add') {
      if (this.tokens.has(e.token)) this.problems.push({ seq: e.seq, problem: `token ${e.token} granted twice` });
      this.tokens.set(e.token, { token: e.token, role: e.role, vm: e.vm ?? null, added: e.seq, revoked: null, requests: 0, denied: 0, unauthorized: [] });
      return;
    }
    const t = this.tokens.get(e.token);
    if (!t) this.problems.push({ seq: e.seq, problem: `revokes token ${e.token}, which was never granted` });
    else if (t.revoked === null) t.revoked = e.seq;
  }

  request(r: RequestEntry): void {
    if (r.by === undefined) return;
    const t = this.tokens.get(r.by);
    if (!t) {
      this.tokens.set(r.by, { token: r.by, role: '?', vm: null, added: 0, revoked: null, requests: 1, denied: r.ret < 0 ? 1 : 0, unauthorized: [r.seq] });
      return;
    }
    t.requests += 1;
    if (r.ret < 0) t.denied += 1;
    if (t.revoked !== null || t.added === 0) t.unauthorized.push(r.seq);
  }

  report(): TokenReport[] {
    return [...this.tokens.values()];
  }
}
