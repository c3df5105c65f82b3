import type pg from 'pg';
import { ShipLoop } from '../fleet/ship_loop.js';
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
/** After an error, the first wait before the next try; it doubles up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** On stop, how many tries to ship the last entries before giving up (the next start ships them). */
const FINAL_TRIES = 3;
/** On stop, how long one try may take. */
const STOP_WAIT_MS = 10_000;

/**
 * Ships the server's committed entries into the fleet PostgreSQL from inside the
 * server: a background loop (a {@link ShipLoop}) woken after each commit (and by a 1 s
 * poll for another writer's entries; an idle server calls in once a minute), running the
 * file shipper (`shipLog`, verified on arrival) over the server's read-only connection.
 * It never blocks or fails a request: an error (no PostgreSQL, a refusal) is logged and
 * retried with backoff (1 s doubling to 30 s). `stop()` ships what was committed, then
 * closes its connection.
 *
 * @example
 * const s = new ServerShipper(ledger, { url: 'postgres://ledger@db/fleet', host: 'node-7' });
 * s.start(); // after each commit: s.wake()
 * await s.stop();
 */
export class ServerShipper {
  private client: pg.Client | null = null;
  private readonly stopping = new AbortController();
  private readonly loop: ShipLoop;
  private running: Promise<void> | null = null;
  private readonly log: (line: string) => void;

  constructor(private readonly ledger: Ledger, private readonly o: ShipToOptions) {
    this.log = o.log ?? ((line) => process.stderr.write(`pasid-ledger: ship-to ${o.host}: ${line}\n`));
    this.loop = new ShipLoop({
      pass: () => this.shipOnce(),
      head: () => ledger.head().seq,
      open: () => !ledger.closed,
      signal: this.stopping.signal,
      pollMs: POLL_MS,
      unref: true,
      retry: {
        firstMs: FIRST_BACKOFF_MS,
        maxMs: MAX_BACKOFF_MS,
        onError: async (e, ms) => {
          this.log(`${e.message}; retrying in ${ms} ms`);
          await this.dropClient();
        },
      },
      // A PostgreSQL that stopped answering does not hold the server's exit for ever.
      final: {
        tries: FINAL_TRIES,
        waitMs: STOP_WAIT_MS,
        onError: async (e, last) => {
          await this.dropClient();
          this.log(`${e.message}${last ? '; giving up (the next start ships the rest)' : '; retrying'}`);
        },
      },
    });
  }

  /** Starts shipping what the log holds, then polls. */
  start(): void {
    this.running ??= this.loop.run();
  }

  /** New entries were committed: ship them soon (never waits). */
  wake(): void {
    this.loop.wake();
  }

  /** One pass: connects (creating or upgrading the schema) when it has no connection, then `shipLog`; the local head it shipped to. */
  private async shipOnce(): Promise<number> {
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
    return r.local;
  }

  private async dropClient(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  /** Stops: waits for the run in flight, ships what was committed (a few tries), closes the connection. */
  async stop(): Promise<void> {
    this.stopping.abort();
    try {
      await (this.running ??= this.loop.run());
    } finally {
      await this.dropClient();
    }
  }
}
