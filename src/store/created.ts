import type BetterSqlite3 from 'better-sqlite3';
import { existsSync, rmSync, statSync } from 'node:fs';
import { holdsLog } from './open.js';

/** The files SQLite keeps for a database in WAL mode: the database, its write-ahead log and its shared-memory index. */
function sqliteFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Which of a database's files exist now: taken before an open, so that a failed open
 * can remove what it made and nothing else.
 *
 * @example
 * const before = filesBefore('./pasid-ledger.db'); // e.g. Set {} for a new path
 */
export function filesBefore(path: string): Set<string> {
  return path === ':memory:' ? new Set() : new Set(sqliteFiles(path).filter((f) => existsSync(f)));
}

/**
 * Undoes a failed open of a new log: closes the handle and removes the files the open
 * created, so that no half-made log (a schema without a configuration, a stray `-wal`)
 * is left behind. A file that existed before is never removed, nor is a database that
 * holds entries by now (another process may have created the same log meanwhile).
 *
 * @example
 * try { ... } catch (e) { discardCreated(path, before, db); throw e; }
 */
export function discardCreated(path: string, before: Set<string>, db: BetterSqlite3.Database | undefined): void {
  if (path === ':memory:' || before.has(path)) {
    if (db?.open) db.close();
    return;
  }
  // Without a handle, only an empty file is surely nobody's log.
  let empty = db === undefined ? sizeOf(path) === 0 : true;
  if (db?.open) {
    try {
      empty = !holdsLog(db) || db.prepare('SELECT 1 FROM entries LIMIT 1').get() === undefined;
    } catch {
      empty = false;
    }
    db.close();
  }
  if (!empty) return;
  for (const f of sqliteFiles(path)) {
    if (!before.has(f)) rmSync(f, { force: true });
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
