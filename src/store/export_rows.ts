import type BetterSqlite3 from 'better-sqlite3';
import type { IndexColumns } from './columns.js';

/** A stored row with its indexing columns, as a copy elsewhere (the fleet store) needs it. */
export type ExportRow = { entry: string; leaf: string; chain: string } & IndexColumns;

/**
 * Reads rows `from < seq <= to` of a log file with every column, in seq order, for
 * copying elsewhere. Read-only.
 *
 * @example
 * const rows = exportRows(db, 0, 1000); // rows 1..1000
 */
export function exportRows(db: BetterSqlite3.Database, from: number, to: number): ExportRow[] {
  let st = readRows.get(db);
  if (!st) {
    st = db.prepare('SELECT seq, entry, leaf, chain, at, type, op, machine, vm, container, mm, pasid, cause, request_id FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq');
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
