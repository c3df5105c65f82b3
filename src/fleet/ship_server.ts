import type pg from 'pg';
import { openEntryStream, type EntryStream } from '../client/entry_stream.js';
import { connect, ServerError } from '../client/connect.js';
import { canonicalJson } from '../store/canonical.js';
import { ChainStep } from '../store/chain.js';
import { CHAIN, exportRow, SEQ, type ExportRow } from '../store/export_rows.js';
import { appendVerified, callIn, insertCheckpoints, openHost, pgHead, refuseBy, ShipRefused, sleep, type ShipResult } from './ship.js';

/** Options of {@link shipFromServer}. */
export interface ServerShipOptions {
  /** The server's Unix socket. */
  socket: string;
  /** An admin or auditor token of that server. */
  token: string;
  /** The host's name in the fleet store. */
  host: string;
  /** Entries per PostgreSQL transaction (at most). Default 1000. */
  batch?: number;
  /** Keep tailing the server (`follow=1`) until `signal` aborts; reconnect with backoff when the server goes away. */
  follow?: boolean;
  /** Stops following: the stream is closed, the batch in flight completes. */
  signal?: AbortSignal;
  /** After each committed batch. */
  onShip?: (r: ShipResult) => void;
  /** With `follow`: the server could not be read (it restarts, say); retrying in `ms`. */
  onRetry?: (e: Error, ms: number) => void;
}

/** An idle follower calls in (seen_at) this often. */
const CALL_IN_MS = 60_000;
/** A follower looks for new stored checkpoints at most this often after a batch (and at each call-in). */
const CHECKPOINTS_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * The server's stored chain at `seq`, from the `Pasid-Ledger-Prev-Chain` header of an
 * empty read (`from=seq+1&limit=0`): used only to find where a server's log and
 * PostgreSQL's copy part, never to accept a row.
 */
async function serverChainAt(o: ServerShipOptions, seq: number): Promise<string | undefined> {
  const s = await openEntryStream({ socket: o.socket, token: o.token, from: seq + 1, limit: 0 });
  s.close();
  return s.prevChain ?? undefined;
}

/**
 * The server's stored signed checkpoints (`GET /v1/checkpoints`) into PostgreSQL, those
 * at or below `head` ({@link insertCheckpoints}); returns how many rows were new. A
 * server that does not answer the route (404: an older pasid-ledger) has none to give.
 */
async function shipCheckpoints(c: pg.Client, o: ServerShipOptions, head: number): Promise<number> {
  if (head === 0) return 0;
  const client = connect({ socket: o.socket, token: o.token });
  try {
    return await insertCheckpoints(c, o.host, await client.checkpoints(), head);
  } catch (e) {
    if (e instanceof ServerError && e.status === 404) return 0;
    throw e;
  } finally {
    client.close();
  }
}

/** A row from an entry text the server sent: leaf and chain recomputed here, columns derived from the text. */
function rowOf(host: string, text: string, seq: number, step: ChainStep): ExportRow {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ShipRefused(host, seq, 'the server sent a line that is not JSON');
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e) || e.seq !== seq) {
    throw new ShipRefused(host, seq, `the server sent ${typeof e?.seq === 'number' ? `seq ${e.seq}` : 'an entry with no seq'} where seq ${seq} was due`);
  }
  if (canonicalJson(e) !== text) throw new ShipRefused(host, seq, 'the server sent an entry text that is not canonical JSON');
  const { leaf, chain } = step.next(text);
  return exportRow(text, leaf, chain, e);
}

/**
 * Ships a server's log into the fleet store by reading its `GET /v1/entries`, from the
 * seq after the host's head in PostgreSQL: each entry's exact text, its leaf and chain
 * recomputed here from the text (the server's hashes are never written), appended with
 * the same verified append as {@link shipLog} (under the host's head row locked FOR
 * UPDATE). Before appending, the server's stored chain at PostgreSQL's head must be
 * PostgreSQL's: a server whose log was rewritten, truncated or forked is refused
 * naming the first differing seq, nothing written.
 *
 * Then the server's stored signed checkpoints (`GET /v1/checkpoints`) are copied as
 * {@link shipLog} copies a file's: those at or below PostgreSQL's head, ON CONFLICT DO
 * NOTHING, counted in `checkpoints`; with `follow`, after a batch (at most once a
 * second) and at each idle call-in.
 *
 * Without `follow` it stops at the server's head when the call started. With `follow`
 * it tails the server until `signal` aborts (the stream is closed, the batch in flight
 * completes), reconnecting with backoff (0.5 s doubling to 30 s) when the server goes
 * away; a refusal, a bad token or a PostgreSQL error ends it.
 *
 * @throws ShipRefused (nothing of that batch written); ServerError for a bad token or
 * another answer than 200; the socket's error when the server cannot be reached (without follow).
 * @example
 * const r = await shipFromServer(pgClient, { socket: '/run/pasid-ledger.sock', token, host: 'node-7' });
 */
export async function shipFromServer(c: pg.Client, o: ServerShipOptions): Promise<ShipResult> {
  const batch = Math.max(1, o.batch ?? 1000);
  const total: ShipResult = { host: o.host, shipped: 0, skipped: 0, head: 0, local: 0, checkpoints: 0 };
  let backoff = 500;
  for (;;) {
    if (o.signal?.aborted) break;
    // The host's row is made only when there is something to append to it: a server that
    // cannot be reached leaves no empty host behind.
    const start = await pgHead(c, o.host);
    total.head = start.seq;
    let opened = false;
    let stream: EntryStream;
    try {
      stream = await openEntryStream({ socket: o.socket, token: o.token, from: start.seq + 1, ...(o.follow ? { follow: true } : {}) });
    } catch (e) {
      if (!o.follow || e instanceof ServerError && (e.status === 401 || e.status === 403 || e.status === 400)) throw e;
      o.onRetry?.(e as Error, backoff);
      await sleep(backoff, o.signal ?? new AbortController().signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      continue;
    }
    const stop = () => stream.close();
    o.signal?.addEventListener('abort', stop, { once: true });
    try {
      let source = stream.head;
      total.local = Math.max(total.local, source);
      if (stream.prevChain !== start.chain) {
        await refuseBy(c, o.host, (seq) => serverChainAt(o, seq), stream.head, start.seq, "the server's log");
      }
      let from = start.seq;
      let prev = start.chain;
      const step = new ChainStep(prev);
      const refuseAt = (pgSeq: number) => refuseBy(c, o.host, (seq) => serverChainAt(o, seq), Math.max(source, from), pgSeq, "the server's log");
      let lastCall = Date.now();
      let lastLook = 0;
      // --follow: new stored checkpoints after a batch (at most every CHECKPOINTS_MS) and at
      // each call-in; a look that fails is tried again at the next one (the stream says
      // whether the server is gone).
      const look = async (): Promise<number> => {
        lastLook = Date.now();
        try {
          const n = await shipCheckpoints(c, o, from);
          total.checkpoints += n;
          return n;
        } catch {
          return 0;
        }
      };
      let broke: Error | null = null;
      for (;;) {
        if (!o.follow && from >= stream.head) break;
        let texts: string[] | null;
        try {
          texts = await stream.take(o.follow ? batch : Math.min(batch, stream.head - from), o.follow ? CALL_IN_MS : undefined);
        } catch (e) {
          broke = e as Error;
          break;
        }
        if (texts === null) {
          if (Date.now() - lastCall >= CALL_IN_MS) {
            await callIn(c, o.host, Math.max(source, from));
            lastCall = Date.now();
            await look();
          }
          continue;
        }
        if (texts.length === 0) break;
        const rows = texts.map((t, i) => rowOf(o.host, t, from + 1 + i, step));
        const last = rows[rows.length - 1]!;
        source = Math.max(source, last[SEQ]);
        if (!opened) {
          await openHost(c, o.host);
          opened = true;
        }
        const [ins, skip] = await appendVerified(c, o.host, rows, { from, prevChain: prev, source, refuseAt });
        from = last[SEQ];
        prev = last[CHAIN];
        lastCall = Date.now();
        total.shipped += ins;
        total.skipped += skip;
        total.head = from;
        total.local = Math.max(total.local, source);
        backoff = 500;
        const cps = o.follow && Date.now() - lastLook >= CHECKPOINTS_MS ? await look() : 0;
        o.onShip?.({ host: o.host, shipped: ins, skipped: skip, head: from, local: source, checkpoints: cps });
        if (o.signal?.aborted) break;
      }
      if (!o.follow) {
        if (broke) throw broke;
        if (from < stream.head) throw new Error(`the server's entry stream ended at seq ${from}, before its head ${stream.head}`);
        if (total.shipped + total.skipped === 0) await callIn(c, o.host, source);
        total.checkpoints += await shipCheckpoints(c, o, from);
        break;
      }
      if (o.signal?.aborted) break;
      // The server went away (restart, shutdown) or broke the stream: reconnect from PostgreSQL's head.
      o.onRetry?.(broke ?? new Error('the server ended the entry stream'), backoff);
      await sleep(backoff, o.signal ?? new AbortController().signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    } finally {
      o.signal?.removeEventListener('abort', stop);
      stream.close();
    }
  }
  return total;
}
