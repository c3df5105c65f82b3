import type { IncomingMessage } from 'node:http';
import type { Ledger } from '../ledger.js';
import { tokenSha256 } from '../ledger.js';
import { TokenBook, type TokenRecord } from '../model/token.js';
import { tokenRows } from '../store/token_rows.js';

/**
 * The server's view of the log's tokens: folded from `token` entries, caught up before
 * each check, so a grant or revocation by another process (`pasid-ledger token ...`)
 * applies to the next request.
 */
export class TokenGate {
  private book = new TokenBook();
  private seen = 0;
  /** Caught up during this turn of the event loop: requests parsed in one turn share one look at the log. */
  private fresh = false;

  constructor(private readonly ledger: Ledger) {}

  /** The valid token a request presents (`Authorization: Bearer ...`), or null. */
  authenticate(req: IncomingMessage): TokenRecord | null {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return null;
    const m = /^Bearer (.*)$/.exec(h.trim());
    return m ? this.bySecret(m[1]!) : null;
  }

  /** The valid token whose secret this is, or null (a malformed secret is simply not valid). */
  bySecret(secret: string): TokenRecord | null {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(secret)) return null;
    this.refresh();
    return this.book.bySha256(tokenSha256(secret));
  }

  /** The token with this id while it is valid (granted and not revoked), as the log says now. */
  validById(id: string): TokenRecord | null {
    this.refresh();
    const r = this.book.get(id);
    return r && r.revoked === null ? r : null;
  }

  /** Every token the log granted. */
  list(): TokenRecord[] {
    this.refresh();
    return this.book.list();
  }

  private refresh(): void {
    if (this.fresh) return;
    this.fresh = true;
    setImmediate(() => { this.fresh = false; });
    const head = this.ledger.head().seq;
    if (head === this.seen) return;
    if (head < this.seen) {
      // Only a rebuilt file goes backwards; start over.
      this.book = new TokenBook();
      this.seen = 0;
    }
    for (const row of tokenRows(this.ledger.db, this.seen, head)) this.book.apply(JSON.parse(row.entry) as Record<string, unknown>);
    this.seen = head;
  }
}
