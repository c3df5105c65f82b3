import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { ServerError } from './connect.js';

/** What to read of a server's `GET /v1/entries`. */
export interface EntryStreamOptions {
  /** The server's Unix socket. */
  socket: string;
  /** An admin or auditor token. */
  token: string;
  /** The first seq wanted (default 1). */
  from?: number;
  /** Keep the stream open and receive entries as they commit. */
  follow?: boolean;
  /** At most this many entries, then the stream ends. */
  limit?: number;
}

/** An open `GET /v1/entries` stream, read as whole lines (the exact entry texts). */
export interface EntryStream {
  /** The server's head seq when the stream started (`Pasid-Ledger-Head`). */
  readonly head: number;
  /** The server's stored chain of the entry before `from` (`Pasid-Ledger-Prev-Chain`); null when the server has no such entry. */
  readonly prevChain: string | null;
  /**
   * Up to `max` entry texts, as soon as at least one is there. Resolves with [] at the
   * end of the stream (or after `close`), with null when `waitMs` passed with none.
   * Rejects with the connection's error when it broke mid-stream.
   */
  take(max: number, waitMs?: number): Promise<string[] | null>;
  /** Closes the stream (the HTTP request is destroyed; lines not taken yet are dropped); a pending `take` resolves with []. */
  close(): void;
}

/** Entries buffered beyond which the socket is paused until the reader catches up. */
const HIGH_WATER = 20_000;

/**
 * Opens `GET /v1/entries` on a server's Unix socket and frames its NDJSON body into
 * lines: a line split across chunks (or a UTF-8 character split across chunks) is
 * joined, blank lines (keep-alive heartbeats) are skipped, the socket is paused while
 * more than 20,000 lines wait to be taken.
 *
 * @throws ServerError for an answer other than 200; the socket's error when it cannot connect.
 * @example
 * const s = await openEntryStream({ socket: '/run/pasid-ledger.sock', token, from: 1 });
 * for (let b = await s.take(1000); b && b.length > 0; b = await s.take(1000)) console.log(b.length);
 */
export function openEntryStream(o: EntryStreamOptions): Promise<EntryStream> {
  const q = new URLSearchParams({ from: String(o.from ?? 1) });
  if (o.follow) q.set('follow', '1');
  if (o.limit !== undefined) q.set('limit', String(o.limit));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: o.socket, method: 'GET', path: `/v1/entries?${q}`, headers: { Authorization: `Bearer ${o.token}` } }, (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let msg = text;
          try {
            msg = (JSON.parse(text) as { error?: string }).error ?? text;
          } catch { /* not JSON */ }
          reject(new ServerError(res.statusCode ?? 0, `GET /v1/entries: ${res.statusCode}: ${msg.slice(0, 300)}`));
        });
        res.on('error', reject);
        return;
      }
      resolve(new LineStream(req, res));
    });
    req.on('error', reject);
    req.end();
  });
}

class LineStream implements EntryStream {
  readonly head: number;
  readonly prevChain: string | null;
  private readonly lines: string[] = [];
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private ended = false;
  private error: Error | null = null;
  private waiter: (() => void) | null = null;

  constructor(private readonly req: ClientRequest, private readonly res: IncomingMessage) {
    this.head = Number(res.headers['pasid-ledger-head'] ?? 0);
    const prev = res.headers['pasid-ledger-prev-chain'];
    this.prevChain = typeof prev === 'string' ? prev : null;
    res.on('data', (c: Buffer) => {
      const text = this.partial + this.decoder.write(c);
      const parts = text.split('\n');
      this.partial = parts.pop()!;
      for (const p of parts) if (p.trim() !== '') this.lines.push(p);
      if (this.lines.length > HIGH_WATER) res.pause();
      this.wake();
    });
    res.on('end', () => {
      const rest = this.partial + this.decoder.end();
      // A last line without its newline was cut off (the stream always ends lines): not an entry.
      if (rest.trim() !== '' && !this.closedByUs) this.error = new Error('the entry stream ended inside a line');
      this.finish();
    });
    res.on('error', (e) => {
      if (!this.closedByUs) this.error = e;
      this.finish();
    });
    res.on('close', () => {
      if (!res.complete && !this.closedByUs && !this.error) this.error = new Error('the server closed the entry stream mid-response');
      this.finish();
    });
    req.on('error', (e) => {
      if (!this.closedByUs) this.error ??= e;
      this.finish();
    });
  }

  private closedByUs = false;

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async take(max: number, waitMs?: number): Promise<string[] | null> {
    while (this.lines.length === 0) {
      if (this.error) throw this.error;
      if (this.ended) return [];
      let timer: NodeJS.Timeout | null = null;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.waiter = () => resolve(false);
        if (waitMs !== undefined) timer = setTimeout(() => resolve(true), waitMs);
      });
      if (timer) clearTimeout(timer);
      if (timedOut) {
        this.waiter = null;
        return null;
      }
    }
    const out = this.lines.splice(0, Math.max(1, max));
    if (this.lines.length <= HIGH_WATER / 2 && this.res.isPaused()) this.res.resume();
    return out;
  }

  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.lines.length = 0;
    this.req.destroy();
    this.res.destroy();
    this.finish();
  }
}
