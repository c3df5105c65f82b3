import type BetterSqlite3 from 'better-sqlite3';
import { canonicalJson } from '../store/canonical.js';
import { indexColumns, type IndexColumns } from '../store/columns.js';
import { chainHash, GENESIS_CHAIN, leafHash } from '../store/hash.js';

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
}

type Row = { seq: number; entry: string; leaf: string; chain: string } & Omit<IndexColumns, 'seq'>;
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
  for (const row of rows) {
    entries++;
    const problem = checkRow(row, size + 1, chain);
    if (problem) {
      // Leaving the loop closes the statement's iterator (the handle is free again).
      return { ok: false, entries, size, chain, bad: { seq: problem.seq, problem: problem.why }, chainAt };
    }
    size = row.seq;
    chain = row.chain;
    opts.onLeaf?.(size, row.leaf);
    if (size === opts.chainAt) chainAt = { seq: size, chain };
    if (opts.onProgress && entries % 10_000 === 0) opts.onProgress(entries, total);
  }
  opts.onProgress?.(entries, total);
  return { ok: true, entries, size, chain, bad: null, chainAt };
}

/** The first thing wrong with one row, given the seq it must have and the chain before it. */
function checkRow(row: Row, expected: number, prevChain: string): { seq: number; why: string } | null {
  if (row.seq !== expected) {
    if (typeof row.seq === 'number' && row.seq > expected) {
      return { seq: expected, why: expected === row.seq - 1 ? `entry ${expected} is missing (the next row is seq ${row.seq})` : `entries ${expected} to ${row.seq - 1} are missing` };
    }
    return { seq: expected, why: `the row after seq ${expected - 1} has seq ${String(row.seq)}, not ${expected}` };
  }
  const seq = row.seq;
  if (typeof row.entry !== 'string') return { seq, why: 'the entry text is not text' };
  const leaf = leafHash(row.entry);
  if (row.leaf !== leaf) return { seq, why: `the entry text does not hash to the row's leaf (text edited, or leaf replaced): leaf ${short(row.leaf)}, text hashes to ${short(leaf)}` };
  const chain = chainHash(prevChain, leaf);
  if (row.chain !== chain) return { seq, why: `the chain is ${short(row.chain)}, recomputed from the entries before it ${short(chain)} (an entry before it was changed, removed or reordered, or this chain was replaced)` };
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
