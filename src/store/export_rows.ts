import type BetterSqlite3 from 'better-sqlite3';
import { indexColumns } from './columns.js';

/**
 * A stored row with its indexing columns, as a copy elsewhere (the fleet store) needs it:
 * the columns in the order of {@link EXPORT_COLUMNS}, as an array (read from SQLite in
 * raw mode: a shipper reads every row of a log, and an array per row costs a third less
 * than an object).
 */
export type ExportRow = [
  seq: number, entry: string, leaf: string, chain: string, at: string, type: string, op: string | null, machine: string | null,
  vm: string | null, container: string | null, mm: string | null, pasid: number | null, cause: number | null, request_id: string | null,
];

/** The columns of an {@link ExportRow}, in its order (the SQLite log's and the fleet store's names). */
export const EXPORT_COLUMNS = ['seq', 'entry', 'leaf', 'chain', 'at', 'type', 'op', 'machine', 'vm', 'container', 'mm', 'pasid', 'cause', 'request_id'] as const;

/** Where {@link ExportRow} keeps a row's seq, text, leaf and chain. */
export const SEQ = 0;
export const ENTRY = 1;
export const LEAF = 2;
export const CHAIN = 3;

/**
 * The {@link ExportRow} of an entry whose text, leaf and chain are known (e.g. sent by a
 * server and recomputed here): its indexing columns derived from the parsed entry.
 *
 * @example
 * exportRow(text, leaf, chain, JSON.parse(text)); // [7, text, leaf, chain, '2026-…Z', 'transition', ...]
 */
export function exportRow(entry: string, leaf: string, chain: string, parsed: Record<string, unknown>): ExportRow {
  const c = indexColumns(parsed);
  return [c.seq, entry, leaf, chain, c.at, c.type, c.op, c.machine, c.vm, c.container, c.mm, c.pasid, c.cause, c.request_id];
}

/**
 * Reads rows `from < seq <= to` of a log file with every column, in seq order, for
 * copying elsewhere. Read-only.
 *
 * @example
 * const rows = exportRows(db, 0, 1000); // rows 1..1000, rows[0][SEQ] === 1
 */
export function exportRows(db: BetterSqlite3.Database, from: number, to: number): ExportRow[] {
  let st = readRows.get(db);
  if (!st) {
    st = db.prepare(`SELECT ${EXPORT_COLUMNS.join(', ')} FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq`).raw(true);
    readRows.set(db, st);
  }
  return st.all(from, to) as ExportRow[];
}

/** {@link exportRows}'s statement, prepared once per connection (a shipper reads a batch in several slices). */
const readRows = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

/** A signed checkpoint as a log keeps it in its `checkpoints` table (the `pasid-ledger-checkpoint/1` fields but `format`). */
export interface StoredCheckpoint {
  size: number;
  chain: string;
  at: string;
  public_key: string;
  signature: string;
}

/**
 * The signed checkpoints a log file keeps beside its entries, if it has a `checkpoints`
 * table with the checkpoint's fields (`size`, `chain`, `at`, `public_key`, `signature`);
 * an empty list otherwise. Ordered by size.
 *
 * @example
 * storedCheckpoints(db); // [{ size: 341, chain: '9f…', at: '2026-…Z', public_key: '-----BEGIN PUBLIC KEY…', signature: 'q1…' }]
 */
export function storedCheckpoints(db: BetterSqlite3.Database): StoredCheckpoint[] {
  const cols = db.prepare("SELECT name FROM pragma_table_info('checkpoints')").all() as Array<{ name: string }>;
  const have = new Set(cols.map((c) => c.name));
  if (!['size', 'chain', 'at', 'public_key', 'signature'].every((c) => have.has(c))) return [];
  return db.prepare('SELECT size, chain, at, public_key, signature FROM checkpoints ORDER BY size').all() as StoredCheckpoint[];
}
