import type BetterSqlite3 from 'better-sqlite3';

const cache = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

/**
 * The `token` entries (server token grants and revocations) with `from < seq <= to`,
 * as stored text, in order; through the `type` index.
 *
 * @example
 * for (const row of tokenRows(db, 0, head)) book.apply(JSON.parse(row.entry));
 */
export function tokenRows(db: BetterSqlite3.Database, from: number, to: number): Array<{ seq: number; entry: string }> {
  let stmt = cache.get(db);
  if (!stmt) {
    stmt = db.prepare("SELECT seq, entry FROM entries WHERE type = 'token' AND seq > ? AND seq <= ? ORDER BY seq");
    cache.set(db, stmt);
  }
  return stmt.all(from, to) as Array<{ seq: number; entry: string }>;
}
