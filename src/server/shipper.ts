import type pg from 'pg';
import type { Ledger } from '../ledger.js';

/** `serve --ship-to URL [--ship-host NAME]`: where the server ships its own entries. */
export interface ShipToOptions {
  /** The fleet PostgreSQL (postgres://...). */
  url: string;
  /** The host's name in the fleet store. */
  host: string;
  /** Entries per PostgreSQL transaction. Default 1000. */
  batch?: number;
  /** Where errors and retries are told (default: stderr). */
  log?: (line: string) => void;
}

/** How often the shipper looks for entries another writer appended (the server's own commits wake it at once). */
const POLL_MS = 1000;
/** An idle server calls in (seen_at) this often. */
const CALL_IN_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;
/** On stop, how many tries to ship the last entries before giving up (the next start ships them). */
const FINAL_TRIES = 3;
/** On stop, how long one try may take. */
const STOP_WAIT_MS = 10_000;

/** `p`'s value, or undefined once `ms` passed (p goes on, unawaited). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => { t = setTimeout(() => r(undefined), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/**
 * Ships the server's committed entries into the fleet PostgreSQL from inside the
 * server: a background loop woken after each commit (and by a 1 s poll for another
 * writer's entries), running the file shipper (`shipLog`, verified on arrival) over the
 * server's read-only connection. It never blocks or fails a request: an error (no
 * PostgreSQL, a refusal) is logged and retried with backoff (1 s doubling to 30 s).
 * `stop()` ships what was committed, then closes its connection.
 *
 * @example
 * const s = new ServerShipper(ledger, { url: 'postgres://ledger@db/fleet', host: 'node-7' });
 * s.start(); // after each commit: s.wake()
 * await s.stop();
 */
export class ServerShipper {
  private client: pg.Client | null = null;
  private running: Promise<void> | null = null;
  private dirty = false;
  private stopping = false;
  private backoff = 1000;
  private retry: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private shippedHead = -1;
  private lastCall = 0;
  private readonly log: (line: string) => void;

  constructor(private readonly ledger: Ledger, private readonly o: ShipToOptions) {
    this.log = o.log ?? ((line) => process.stderr.write(`pasid-ledger: ship-to ${o.host}: ${line}\n`));
  }

  /** Starts shipping what the log holds, then polls. */
  start(): void {
    this.poll = setInterval(() => {
      if (this.ledger.closed) return;
      if (this.ledger.head().seq !== this.shippedHead || Date.now() - this.lastCall >= CALL_IN_MS) this.wake();
    }, POLL_MS);
    this.poll.unref();
    this.wake();
  }

  /** New entries were committed: ship them soon (never waits). */
  wake(): void {
    this.dirty = true;
    if (this.running || this.retry || this.stopping) return;
    this.running = this.loop().finally(() => { this.running = null; });
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.stopping) {
      this.dirty = false;
      try {
        await this.shipOnce();
        this.backoff = 1000;
      } catch (e) {
        this.log(`${(e as Error).message}; retrying in ${this.backoff} ms`);
        await this.dropClient();
        this.dirty = true;
        if (this.stopping) return;
        const wait = this.backoff;
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
        this.retry = setTimeout(() => { this.retry = null; this.wake(); }, wait);
        this.retry.unref();
        return;
      }
    }
  }

  private async shipOnce(): Promise<void> {
    const { connectPg, kyselyPg, migratePg } = await import('../fleet/pg.js');
    const { shipLog } = await import('../fleet/ship.js');
    if (!this.client) {
      const k = kyselyPg(this.o.url);
      try {
        await migratePg(k);
      } finally {
        await k.destroy();
      }
      const c = await connectPg(this.o.url);
      // A connection PostgreSQL drops is replaced on the next try.
      c.on('error', () => { if (this.client === c) this.client = null; });
      this.client = c;
    }
    const r = await shipLog(this.ledger.db, this.client, { host: this.o.host, ...(this.o.batch !== undefined ? { batch: this.o.batch } : {}) });
    this.shippedHead = r.local;
    this.lastCall = Date.now();
  }

  private async dropClient(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  /** Stops: waits for the run in flight, ships what was committed (a few tries), closes the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.poll) clearInterval(this.poll);
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    // A PostgreSQL that stopped answering does not hold the server's exit for ever.
    await within(this.running ?? Promise.resolve(), STOP_WAIT_MS);
    for (let i = 1; i <= FINAL_TRIES && !this.ledger.closed; i++) {
      try {
        if (!(await within(this.shipOnce().then(() => true), STOP_WAIT_MS))) throw new Error(`PostgreSQL did not answer within ${STOP_WAIT_MS / 1000} s`);
        break;
      } catch (e) {
        await this.dropClient();
        this.log(`${(e as Error).message}${i < FINAL_TRIES ? '; retrying' : `; giving up (the next start ships the rest)`}`);
        if (i < FINAL_TRIES) await new Promise((r) => setTimeout(r, 500 * i));
      }
    }
    await this.dropClient();
  }
}
