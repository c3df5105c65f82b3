import pg from 'pg';
import { connectPg, kyselyPg, migratePg, type PgClientClass } from './pg.js';

/** What pg keeps of a client's socket (not in its types): destroying it ends the connection at once. */
type WithSocket = { connection?: { stream?: { destroy(): void } } };

/**
 * A pg client class whose clients are cut when `signal` aborts: each one's socket is
 * destroyed, whether it is connecting, idle or waiting on a query (the pending call
 * fails, PostgreSQL rolls back an open transaction), and a client made after the abort
 * fails to connect. `release(c)` exempts a client from it (the one kept for shipping).
 *
 * @example
 * const { Client, release } = stoppableClients(ac.signal);
 * const c = await connectPg(url, Client); // SIGTERM while connecting: rejects at once
 * release(c);
 */
export function stoppableClients(signal: AbortSignal): { Client: PgClientClass; release(c: pg.Client): void } {
  const live = new Set<pg.Client>();
  // The error a cut client emits (pg emits it on a client checked out of the pool too,
  // where nobody listens) is the abort's own doing: ignored. Any other error is pg's as before.
  const quiet = new WeakMap<pg.Client, (e: Error) => void>();
  const cut = (c: pg.Client): void => { (c as unknown as WithSocket).connection?.stream?.destroy(); };
  signal.addEventListener('abort', () => { for (const c of live) cut(c); }, { once: true });
  class StoppableClient extends pg.Client {
    constructor(config: pg.ClientConfig) {
      super(config);
      live.add(this);
      this.once('end', () => live.delete(this));
      const onError = (e: Error): void => {
        if (signal.aborted || this.listenerCount('error') > 1) return;
        throw e;
      };
      quiet.set(this, onError);
      this.on('error', onError);
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | void {
      if (signal.aborted) {
        const e = new Error('stopped before connecting');
        if (!callback) return Promise.reject(e);
        process.nextTick(() => (callback as (err: Error) => void)(e));
        return;
      }
      return callback ? super.connect(callback) : super.connect();
    }
  }
  return {
    Client: StoppableClient,
    release: (c) => {
      live.delete(c);
      const onError = quiet.get(c);
      if (onError) c.off('error', onError);
    },
  };
}

/**
 * Opens the fleet store for a shipper that a signal may stop: brings the schema up to
 * date ({@link migratePg}), then connects the client that ships. When `signal` aborts
 * meanwhile (SIGTERM while PostgreSQL is slow to answer, or the migration waits for
 * another shipper's lock), every connection opened so far is closed at once and the
 * result is `null`: nothing was shipped. Once it returns the client, an abort no longer
 * touches it (the caller's shipping loop stops at a batch boundary).
 *
 * @throws the errors of {@link migratePg} and {@link connectPg} when not aborted.
 * @example
 * const c = await openFleet('postgres://ledger@db.example/fleet', ac.signal);
 * if (c === null) return; // stopped before connecting
 */
export async function openFleet(url: string, signal: AbortSignal): Promise<pg.Client | null> {
  if (signal.aborted) return null;
  const { Client, release } = stoppableClients(signal);
  try {
    const k = kyselyPg(url, Client);
    try {
      await migratePg(k);
    } finally {
      await k.destroy();
    }
    if (signal.aborted) return null;
    const c = await connectPg(url, Client);
    release(c);
    if (signal.aborted) {
      await c.end();
      return null;
    }
    return c;
  } catch (e) {
    if (signal.aborted) return null;
    throw e;
  }
}
