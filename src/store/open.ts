import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A store that cannot be opened, with a message a person can act on. */
export class StoreError extends Error {
  override name = 'StoreError';
}

export interface OpenOptions {
  /** Open for reading only; the file must exist. */
  readonly?: boolean;
  /** Refuse to create a missing file. */
  mustExist?: boolean;
  /** Milliseconds a writer waits for another process's transaction. Default 30000. */
  busyTimeout?: number;
  /** `FULL` (default): an acknowledged request survives power loss. `NORMAL` trades that for speed. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
}

/**
 * Opens the SQLite file with the ledger's pragmas: WAL, `synchronous=FULL`, a busy
 * timeout so that concurrent writers queue instead of seeing SQLITE_BUSY.
 *
 * @throws StoreError when the directory is missing, the file is missing and must
 * exist, or the file is not a database.
 * @example
 * const db = openDatabase('./pasid-ledger.db');
 */
export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  const memory = path === ':memory:';
  if (!memory) {
    const dir = dirname(resolve(path));
    if (!existsSync(dir)) throw new StoreError(`cannot open ${path}: directory ${dir} does not exist`);
    if ((opts.readonly || opts.mustExist) && !existsSync(path)) throw new StoreError(`cannot open ${path}: no such file`);
    if (existsSync(path) && statSync(path).isDirectory()) throw new StoreError(`cannot open ${path}: it is a directory`);
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.mustExist ?? false });
  } catch (e) {
    throw new StoreError(`cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    db.pragma(`busy_timeout = ${opts.busyTimeout ?? 30000}`);
    if (!opts.readonly && !memory) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    // Reading the schema makes a file that is not a database fail here, not later.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    db.close();
    throw new StoreError(`cannot open ${path}: ${(e as Error).message}`);
  }
  return db;
}

/**
 * Whether an open database holds a pasid-ledger log (its `entries` table exists).
 *
 * @example
 * if (!holdsLog(db)) throw new Error('not a log');
 */
export function holdsLog(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").get() !== undefined;
}
