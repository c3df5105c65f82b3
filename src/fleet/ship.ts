import { ChainStep } from '../store/chain.js';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { CHAIN, ENTRY, exportRows, LEAF, SEQ, storedCheckpoints, type ExportRow, type StoredCheckpoint } from '../store/export_rows.js';
import { GENESIS_CHAIN } from '../store/hash.js';
import { EntryLog, type LogHead } from '../store/log.js';
import { copyIn, copyText, COPY_ENTRIES } from './copy_in.js';
import { FleetError } from './errors.js';
import { ShipLoop } from './ship_loop.js';

/**
 * The local log and what PostgreSQL holds of it disagree: the local log was rewritten,
 * truncated or forked after it was shipped. Nothing was written.
 */
export class ShipRefused extends FleetError {
  override name = 'ShipRefused';
  constructor(readonly host: string, readonly seq: number, detail: string) {
    super(`host ${host}: refused at seq ${seq}: ${detail}; nothing written`);
  }
}

/** Options of {@link shipLog}. */
export interface ShipOptions {
  /** The host's name in the fleet store. */
  host: string;
  /** Entries per PostgreSQL transaction. Default 1000. */
  batch?: number;
  /** After each committed batch: the host's head in PostgreSQL (awaited when it returns a promise). */
  onBatch?: (head: number, localHead: number) => void | Promise<void>;
}

/** What one {@link shipLog} call did. */
export interface ShipResult {
  host: string;
  /** Rows this call inserted. */
  shipped: number;
  /** Rows another shipper had written first (identical, skipped). */
  skipped: number;
  /** The host's head in PostgreSQL after this call. */
  head: number;
  /** The local log's head when this call started. */
  local: number;
  /** Signed checkpoints copied (when the local log keeps them in a table). */
  checkpoints: number;
}

/** The host's head in PostgreSQL (seq 0 and the genesis chain for a host with no rows); `lock` takes its row FOR UPDATE. */
export async function pgHead(c: pg.Client, host: string, lock = false): Promise<LogHead> {
  const r = await c.query<{ head_seq: number; head_chain: string }>(`SELECT head_seq, head_chain FROM hosts WHERE host = $1${lock ? ' FOR UPDATE' : ''}`, [host]);
  const row = r.rows[0];
  // Number(): a client made without connectPg's int8 parser reads bigint as a string.
  return row ? { seq: Number(row.head_seq), chain: row.head_chain } : { seq: 0, chain: GENESIS_CHAIN };
}

async function pgChainAt(c: pg.Client, host: string, seq: number): Promise<string | undefined> {
  const r = await c.query<{ chain: string }>('SELECT chain FROM entries WHERE host = $1 AND seq = $2', [host, seq]);
  return r.rows[0]?.chain;
}

/**
 * The first seq at which the local log and PostgreSQL's copy differ. A chain value
 * commits to every entry before it, so "differs at s" holds from the first difference
 * on: a binary search over the stored chains finds it in O(log n) lookups.
 */
export async function firstDifference(c: pg.Client, host: string, log: EntryLog, pgSeq: number): Promise<number> {
  return firstDifferenceBy(c, host, (seq) => log.row(seq)?.chain, log.head().seq, pgSeq);
}

/**
 * {@link firstDifference} against any source of stored chains (`chainAt(seq)`, the
 * source's head `localSeq`), e.g. a server's log read over HTTP.
 */
export async function firstDifferenceBy(
  c: pg.Client, host: string, chainAt: (seq: number) => string | undefined | Promise<string | undefined>, localSeq: number, pgSeq: number,
): Promise<number> {
  let lo = 1;
  let hi = Math.min(localSeq, pgSeq);
  let first = hi + 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await chainAt(mid)) !== (await pgChainAt(c, host, mid))) {
      first = mid;
      hi = mid - 1;
    } else lo = mid + 1;
  }
  return first;
}

async function refuse(c: pg.Client, host: string, log: EntryLog, pgSeq: number): Promise<never> {
  return refuseBy(c, host, (seq) => log.row(seq)?.chain, log.head().seq, pgSeq, 'the local log');
}

/**
 * Throws ShipRefused naming the first seq at which the source (`chainAt`, head
 * `local`, called `what` in the message) and PostgreSQL's `pgSeq` rows differ.
 */
export async function refuseBy(
  c: pg.Client, host: string, chainAt: (seq: number) => string | undefined | Promise<string | undefined>, local: number, pgSeq: number, what: string,
): Promise<never> {
  const seq = await firstDifferenceBy(c, host, chainAt, local, pgSeq);
  const how = seq > local
    ? `${what} has ${local} entries but PostgreSQL holds ${pgSeq} for this host (${what} was truncated or replaced)`
    : `${what} differs from what was shipped from seq ${seq} on (rewritten or forked; PostgreSQL holds ${pgSeq} entries for this host)`;
  throw new ShipRefused(host, seq, how);
}

/** Recomputes leaf and chain of each row from its text; a local row that does not hash as stored is not shipped. */
function recompute(host: string, rows: ExportRow[], prevChain: string, from: number): void {
  const step = new ChainStep(prevChain);
  let expect = from + 1;
  for (const r of rows) {
    if (r[SEQ] !== expect) throw new ShipRefused(host, expect, 'the local log has no such entry (run "pasid-ledger verify")');
    const bad = step.checkText(r[ENTRY], r[LEAF], r[CHAIN]);
    if (bad) {
      throw new ShipRefused(host, r[SEQ], `the local log is bad: its ${bad.what} does not recompute from the entry text (run "pasid-ledger verify")`);
    }
    expect += 1;
  }
}

/**
 * The statement that lets this transaction's commit skip waiting for PostgreSQL's WAL
 * flush: every batch of a pass but the last runs it (see appendBatch).
 */
export const SKIP_WAL_FLUSH = 'SET LOCAL synchronous_commit TO off';

/**
 * One batch in one PostgreSQL transaction, under the host's head row locked FOR UPDATE:
 * the rows must continue the head (rows another shipper wrote meanwhile are skipped if
 * they are the same rows, by their chain, and refused otherwise). The server's trigger
 * recomputes every leaf and chain again. Returns [inserted, skipped].
 *
 * Not `durable`: the commit does not wait for PostgreSQL's WAL flush (`synchronous_commit
 * = off`, this transaction only). Atomicity is untouched (the batch is all there or
 * absent, after any crash); a PostgreSQL crash may only forget such a batch until the next
 * durable commit, and a durable commit flushes every commit before it (the WAL is one
 * sequence). The shipper commits the last batch of every pass durably: whatever it
 * reports shipped is on PostgreSQL's disk, and a forgotten batch is shipped again from
 * PostgreSQL's head by the next pass, from the host's log.
 */
async function appendBatch(
  c: pg.Client, host: string, refuseAt: (pgSeq: number) => Promise<never>, rows: ExportRow[], from: number, local: number, durable: boolean,
): Promise<[number, number]> {
  const text = preparedText.get(rows) ?? copyText(host, rows);
  // The common case in one round trip and one implicit transaction: lock the host's head
  // row FOR UPDATE, note the local head, COPY the rows. Rows another shipper wrote first
  // make the COPY fail (the key, or the trigger's chain check): nothing is written and the
  // batch takes the careful path below.
  const h = c.escapeLiteral(host);
  const flush = durable ? '' : `${SKIP_WAL_FLUSH};\n      `;
  try {
    const n = await copyIn(c, `${flush}WITH h AS (SELECT host FROM hosts WHERE host = ${h} FOR UPDATE)
      UPDATE hosts SET source_seq = GREATEST(source_seq, ${Number(local)}), seen_at = now() FROM h WHERE hosts.host = h.host;
      ${COPY_ENTRIES}`, text);
    if (n === rows.length) return [n, 0];
    throw new FleetError(`host ${host}: PostgreSQL took ${n} of ${rows.length} rows`);
  } catch (e) {
    if (e instanceof FleetError) throw e;
  }
  await c.query('BEGIN');
  try {
    if (!durable) await c.query(SKIP_WAL_FLUSH);
    const head = await pgHead(c, host, true);
    let start = 0;
    if (head.seq !== from) {
      if (head.seq < from) throw new FleetError(`host ${host}: PostgreSQL's head went back from seq ${from} to ${head.seq}; nothing written`);
      start = Math.min(head.seq - from, rows.length);
      const theirs = start === head.seq - from ? head.chain : await pgChainAt(c, host, from + start);
      if (theirs !== rows[start - 1]![CHAIN]) {
        await c.query('ROLLBACK');
        return await refuseAt(head.seq);
      }
    }
    const todo = start === 0 ? rows : rows.slice(start);
    if (todo.length > 0) await copyIn(c, COPY_ENTRIES, start === 0 ? text : copyText(host, todo));
    await c.query('UPDATE hosts SET source_seq = GREATEST(source_seq, $2), seen_at = now() WHERE host = $1', [host, local]);
    await c.query('COMMIT');
    return [todo.length, start];
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** A batch read from the local log, its hashes recomputed, encoded for COPY. */
interface Prepared {
  rows: ExportRow[];
  /** The batch is rows `from < seq <= to`. */
  to: number;
}

/** The COPY data of a batch {@link prepareBatch} made, by its rows (so that appendBatch does not encode them twice). */
const preparedText = new WeakMap<ExportRow[], string>();

/**
 * Rows read, recomputed and encoded per slice before the event loop gets a turn. Small,
 * because PostgreSQL waits twice per batch for the event loop (to be sent the COPY data
 * after its CopyInResponse, and the next batch after its ReadyForQuery), up to a slice's
 * work each time. Measured: 64 shipped about 9% faster than 250 (200,000 entries into one
 * cluster, the two interleaved, 4 runs each; 43.9k against 40.2k entries/s on average).
 */
const SLICE = 64;

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Reads rows `from < seq <= to` of the local log, recomputes their leaves and chains
 * (chaining on from `prevChain`) and encodes them for COPY, a slice at a time with the
 * event loop's turn between slices: the batch in flight is sent and committed meanwhile.
 *
 * @throws ShipRefused when a local row does not hash as stored or a seq is missing.
 */
async function prepareBatch(db: BetterSqlite3.Database, host: string, from: number, to: number, prevChain: string): Promise<Prepared> {
  let rows: ExportRow[] = [];
  let text = '';
  let prev = prevChain;
  for (let at = from; at < to; at += SLICE) {
    if (at > from) await yieldTurn();
    const slice = exportRows(db, at, Math.min(at + SLICE, to));
    recompute(host, slice, prev, at);
    if (slice.length === 0) break;
    prev = slice[slice.length - 1]![CHAIN];
    text += copyText(host, slice);
    rows = rows.length === 0 ? slice : rows.concat(slice);
  }
  if (rows.length !== to - from) throw new ShipRefused(host, from + rows.length + 1, 'the local log has no such entry (run "pasid-ledger verify")');
  preparedText.set(rows, text);
  return { rows, to };
}

/**
 * The verified append every shipper uses (the file shipper, `ship --from-server`,
 * `serve --ship-to`): recomputes each row's leaf and chain from its text, chaining on
 * from `prevChain` (PostgreSQL's chain at seq `from`), then appends the rows in one
 * transaction under the host's head row locked FOR UPDATE (rows another shipper wrote
 * meanwhile are skipped when they are the same, by their chain). `source` is the
 * source's head (the lag in `fleet hosts`); `refuseAt(pgSeq)` throws the refusal when
 * PostgreSQL holds rows that differ. `durable: false` (default true) lets the commit skip
 * the WAL flush, for a batch that a later durable one follows (see appendBatch). Returns
 * [inserted, skipped].
 *
 * @throws ShipRefused when a row does not hash as stored or seqs do not run on from `from`.
 */
export async function appendVerified(
  c: pg.Client, host: string, rows: ExportRow[],
  at: { from: number; prevChain: string; source: number; refuseAt: (pgSeq: number) => Promise<never>; durable?: boolean },
): Promise<[number, number]> {
  recompute(host, rows, at.prevChain, at.from);
  return appendBatch(c, host, at.refuseAt, rows, at.from, at.source, at.durable ?? true);
}

/** Makes sure the host has its head row; returns its head. */
export async function openHost(c: pg.Client, host: string): Promise<LogHead> {
  await c.query('INSERT INTO hosts (host) VALUES ($1) ON CONFLICT (host) DO NOTHING', [host]);
  return pgHead(c, host, false);
}

/** Notes that the host's shipper called in and saw `source` entries at its source (no rows shipped). */
export async function callIn(c: pg.Client, host: string, source: number): Promise<void> {
  await c.query('UPDATE hosts SET source_seq = GREATEST(source_seq, $2), seen_at = now() WHERE host = $1', [host, source]);
}

/**
 * Copies a log's stored signed checkpoints into the fleet's `checkpoints` table for
 * `host`: only those of a size at or below `head` (PostgreSQL's head for the host: the
 * rows they sign are there), each as it is (`fleet verify` checks the signatures and
 * chains), an existing one left alone (ON CONFLICT DO NOTHING). Returns how many rows
 * were new. Used by every shipper that has the checkpoints (`ship --db`, `ship --from-server`).
 *
 * @example
 * await insertCheckpoints(pgClient, 'node-7', storedCheckpoints(db), 341); // 1
 */
export async function insertCheckpoints(c: pg.Client, host: string, cps: readonly StoredCheckpoint[], head: number): Promise<number> {
  let n = 0;
  for (const cp of cps) {
    if (cp.size > head) continue;
    const r = await c.query(
      'INSERT INTO checkpoints (host, size, chain, at, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
      [host, cp.size, cp.chain, cp.at, cp.public_key, cp.signature],
    );
    n += r.rowCount ?? 0;
  }
  return n;
}

/**
 * Ships a local log into the fleet store: the entries PostgreSQL does not hold yet for
 * `host` (after its head), exactly as stored (canonical text, leaf, chain, indexing
 * columns), in batches of one transaction each, then the log's signed checkpoints if it
 * keeps them in a table. Resumable and idempotent: a second call writes nothing; a
 * shipper killed mid-batch leaves no row of that batch. Reads the local file only.
 *
 * @throws ShipRefused (nothing written) when the local log no longer agrees with what
 * was shipped: its chain at PostgreSQL's head differs, or it is shorter; the message
 * names the host and the first differing seq. FleetError when a local row does not
 * hash as stored. pg errors for IO failures (the open batch is rolled back).
 * @example
 * const r = await shipLog(sqliteDb, pgClient, { host: 'node-7' });
 * // { host: 'node-7', shipped: 341, skipped: 0, head: 341, local: 341, checkpoints: 0 }
 */
export async function shipLog(db: BetterSqlite3.Database, c: pg.Client, opts: ShipOptions): Promise<ShipResult> {
  const { host } = opts;
  const batch = Math.max(1, opts.batch ?? 1000);
  const log = new EntryLog(db);
  const local = log.head().seq;
  const start = await openHost(c, host);
  if (start.seq > local || (start.seq > 0 && log.row(start.seq)?.chain !== start.chain)) await refuse(c, host, log, start.seq);
  let from = start.seq;
  const refuseAt = (pgSeq: number): Promise<never> => refuse(c, host, log, pgSeq);
  let shipped = 0;
  let skipped = 0;
  // Pipelined: the next batch is read, recomputed and encoded (in slices, yielding to the
  // event loop) while PostgreSQL copies, checks and commits this one.
  // A refusal of the next batch surfaces after this one is committed, as without the pipeline.
  const ahead = (at: number, prev: string): Promise<Prepared> => {
    const p = prepareBatch(db, host, at, Math.min(at + batch, local), prev);
    p.catch(() => {}); // handled when awaited; not an unhandled rejection while this batch is in flight
    return p;
  };
  let next: Promise<Prepared> | null = from < local ? ahead(from, start.chain) : null;
  // Every batch but the last commits without waiting for the WAL flush; the last one's
  // flush makes them all durable (appendBatch). A pass that fails midway flushes what it
  // committed with the call-in's durable commit before the error goes on.
  let unflushed = false;
  try {
    while (next) {
      const cur = await next;
      const durable = cur.to >= local;
      const sent = appendBatch(c, host, refuseAt, cur.rows, from, local, durable);
      next = cur.to < local ? ahead(cur.to, cur.rows[cur.rows.length - 1]![CHAIN]) : null;
      const [ins, skip] = await sent;
      unflushed = !durable;
      shipped += ins;
      skipped += skip;
      from = cur.to;
      await opts.onBatch?.(from, local);
    }
  } catch (e) {
    if (unflushed) await callIn(c, host, local).catch(() => {});
    throw e;
  }
  if (shipped + skipped === 0) await callIn(c, host, local);
  const checkpoints = await insertCheckpoints(c, host, storedCheckpoints(db), from);
  return { host, shipped, skipped, head: Math.max(from, start.seq), local, checkpoints };
}

/**
 * Ships as the log grows: {@link shipLog}, then again whenever the local head moved,
 * looking every `intervalMs` (polling the local file, read-only), until `signal` aborts;
 * the batch in flight finishes first. An idle log calls in (seen_at) once a minute.
 * The loop is a {@link ShipLoop} without retry: the first error (a refusal, PostgreSQL
 * gone) ends it, and this call rejects with it.
 *
 * @example
 * const ac = new AbortController();
 * process.on('SIGTERM', () => ac.abort());
 * await followLog(db, client, { host: 'node-7', intervalMs: 1000, signal: ac.signal });
 */
export async function followLog(
  db: BetterSqlite3.Database, c: pg.Client,
  opts: ShipOptions & { intervalMs?: number; signal: AbortSignal; onShip?: (r: ShipResult) => void },
): Promise<ShipResult> {
  const total: ShipResult = { host: opts.host, shipped: 0, skipped: 0, head: 0, local: 0, checkpoints: 0 };
  const log = new EntryLog(db);
  // An idle log costs PostgreSQL nothing but a call-in a minute (seen_at): thousands of hosts poll.
  await new ShipLoop({
    signal: opts.signal,
    pollMs: opts.intervalMs ?? 1000,
    head: () => log.head().seq,
    pass: async () => {
      const r = await shipLog(db, c, opts);
      total.shipped += r.shipped;
      total.skipped += r.skipped;
      total.checkpoints += r.checkpoints;
      total.head = r.head;
      total.local = r.local;
      if (r.shipped + r.skipped > 0) opts.onShip?.(r);
      return r.local;
    },
  }).run();
  return total;
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => { clearTimeout(t); resolve(); };
    const t = setTimeout(() => { signal.removeEventListener('abort', done); resolve(); }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
