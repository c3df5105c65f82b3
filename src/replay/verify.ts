import { ChainStep } from '../store/chain.js';
import type BetterSqlite3 from 'better-sqlite3';
import { configOfLog } from '../model/config_entry.js';
import { canonicalJson } from '../store/canonical.js';
import { indexColumns, type IndexColumns } from '../store/columns.js';
import { GENESIS_CHAIN } from '../store/hash.js';
import { EntryLog } from '../store/log.js';
import { SnapshotStore } from '../store/snapshots.js';
import { snapshotProblem } from '../snapshot/cache.js';

/** The first row of the log that is not what the writer wrote, and why. */
export interface BadEntry {
  seq: number;
  problem: string;
}

/** The outcome of `verifyLog`. */
export interface LogVerification {
  ok: boolean;
  /** Rows checked (up to and including the bad one). */
  entries: number;
  /** The last good seq, and the chain recomputed up to it. */
  size: number;
  chain: string;
  bad: BadEntry | null;
  /** The recomputed chain at a seq the caller asked about (a checkpoint's size), if the log reached it intact. */
  chainAt: { seq: number; chain: string } | null;
  /**
   * Entries whose `at` is earlier than their predecessor's (the writer's clock went
   * back): a warning, not a fault of the chain. The first 10, and how many in all.
   */
  clockBackwards: { count: number; first: ClockStep[] };
}

/** One step back in time: entry `seq` at `at`, after an entry at `previous`. */
export interface ClockStep {
  seq: number;
  at: string;
  previous: string;
}

/** A stored row as the verifier reads it: text, hashes and indexing columns. */
export type VerifiableRow = { seq: number; entry: string; leaf: string; chain: string } & Omit<IndexColumns, 'seq'>;
type Row = VerifiableRow;
const COLUMNS: Array<keyof Omit<IndexColumns, 'seq'>> = ['at', 'type', 'op', 'machine', 'vm', 'container', 'mm', 'pasid', 'cause', 'request_id'];

/**
 * Checks every row of `entries` from its raw text, in one streaming pass (constant
 * memory): seq runs 1, 2, 3... with no gap; `leaf` is the RFC 6962 leaf hash of the
 * text and `chain` the running chain over the leaves recomputed from the genesis; the
 * text is JSON, in RFC 8785 canonical form, its `seq` is the row's; the indexing
 * columns are what `indexColumns` derives from the text; entry 1 is the configuration
 * and no other entry is. Stops at the first bad row.
 *
 * This proves the rows agree with each other. That nobody rewrote the log wholesale
 * (recomputing every hash) or cut its tail needs a signed checkpoint: `chainAt`
 * gives the chain at a checkpoint's size.
 *
 * @example
 * verifyLog(db); // { ok: true, entries: 341, size: 341, chain: '9f2c...', bad: null, chainAt: null }
 */
export function verifyLog(
  db: BetterSqlite3.Database,
  opts: { chainAt?: number; onProgress?: (seq: number, total: number) => void; /** Each good entry's leaf (hex), in order. */ onLeaf?: (seq: number, leafHex: string) => void } = {},
): LogVerification {
  const total = (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  const rows = db.prepare(`SELECT seq, entry, leaf, chain, ${COLUMNS.join(', ')} FROM entries ORDER BY seq`).iterate() as IterableIterator<Row>;
  let chain = GENESIS_CHAIN;
  let size = 0;
  let entries = 0;
  let chainAt: LogVerification['chainAt'] = null;
  const clockBackwards: LogVerification['clockBackwards'] = { count: 0, first: [] };
  let lastAt = '';
  for (const row of rows) {
    entries++;
    const problem = checkRow(row, size + 1, chain);
    if (problem) {
      // Leaving the loop closes the statement's iterator (the handle is free again).
      return { ok: false, entries, size, chain, bad: { seq: problem.seq, problem: problem.why }, chainAt, clockBackwards };
    }
    // ISO-8601 UTC strings of one format compare as times.
    if (row.at < lastAt) {
      if (clockBackwards.count++ < 10) clockBackwards.first.push({ seq: row.seq, at: row.at, previous: lastAt });
    }
    lastAt = row.at;
    size = row.seq;
    chain = row.chain;
    opts.onLeaf?.(size, row.leaf);
    if (size === opts.chainAt) chainAt = { seq: size, chain };
    if (opts.onProgress && entries % 10_000 === 0) opts.onProgress(entries, total);
  }
  opts.onProgress?.(entries, total);
  return { ok: true, entries, size, chain, bad: null, chainAt, clockBackwards };
}

/** A stored snapshot the ledger will not trust, and why. */
export interface UntrustedSnapshot {
  seq: number;
  problem: string;
}

/**
 * Every stored snapshot that is not vouched for by the log (`snapshotProblem`):
 * forged or corrupt blobs, or snapshots left by older code. The ledger and every reader
 * ignore these, so they cannot change any answer: a warning about the cache, not a
 * fault of the log. Reads each blob once (memory: one blob at a time).
 *
 * @example
 * untrustedSnapshots(db); // [{ seq: 200000, problem: 'its blob does not hash to the digest entry 200001 records ...' }]
 */
export function untrustedSnapshots(db: BetterSqlite3.Database): UntrustedSnapshot[] {
  const log = new EntryLog(db);
  const config = configOfLog(log);
  if (!config) return [];
  const store = new SnapshotStore(db);
  const out: UntrustedSnapshot[] = [];
  for (const { seq } of store.list()) {
    const snap = store.latestAtOrBefore(seq);
    if (!snap || snap.seq !== seq) continue;
    const problem = snapshotProblem(log, config, snap);
    if (problem !== null) out.push({ seq, problem });
  }
  return out;
}

/**
 * The first thing wrong with one stored row (text, hashes, columns), given the seq it must
 * have and the chain before it; null when it is what the writer wrote. Shared with the
 * fleet store's verifier.
 *
 * @example
 * checkRow(row, 1, GENESIS_CHAIN); // null, or { seq: 1, why: 'the entry text does not hash ...' }
 */
export function checkRow(row: VerifiableRow, expected: number, prevChain: string): { seq: number; why: string } | null {
  if (row.seq !== expected) {
    if (typeof row.seq === 'number' && row.seq > expected) {
      return { seq: expected, why: expected === row.seq - 1 ? `entry ${expected} is missing (the next row is seq ${row.seq})` : `entries ${expected} to ${row.seq - 1} are missing` };
    }
    return { seq: expected, why: `the row after seq ${expected - 1} has seq ${String(row.seq)}, not ${expected}` };
  }
  const seq = row.seq;
  if (typeof row.entry !== 'string') return { seq, why: 'the entry text is not text' };
  const bad = new ChainStep(prevChain).check(row as { entry: string; leaf: string; chain: string });
  if (bad?.what === 'leaf') return { seq, why: `the entry text does not hash to the row's leaf (text edited, or leaf replaced): leaf ${short(row.leaf)}, text hashes to ${short(bad.leaf)}` };
  if (bad) return { seq, why: `the chain is ${short(row.chain)}, recomputed from the entries before it ${short(bad.chain)} (an entry before it was changed, removed or reordered, or this chain was replaced)` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.entry);
  } catch {
    return { seq, why: 'the entry text is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { seq, why: 'the entry text is not a JSON object' };
  const e = parsed as Record<string, unknown>;
  if (canonicalJson(e) !== row.entry) return { seq, why: 'the entry text is not in RFC 8785 canonical form (it is not what the writer hashed)' };
  if (e.seq !== seq) return { seq, why: `the entry says seq ${JSON.stringify(e.seq)}, the row is seq ${seq} (rows reordered?)` };
  if ((seq === 1) !== (e.type === 'config')) {
    return { seq, why: seq === 1 ? `entry 1 is a ${JSON.stringify(e.type)} entry, not the configuration` : 'a configuration entry after entry 1' };
  }
  const want = indexColumns(e);
  for (const c of COLUMNS) {
    if (row[c] !== want[c]) return { seq, why: `column ${c} is ${JSON.stringify(row[c])}, the entry says ${JSON.stringify(want[c])}` };
  }
  return null;
}

const short = (hex: unknown) => (typeof hex === 'string' ? `${hex.slice(0, 12)}…` : String(hex));
