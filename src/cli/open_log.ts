import type BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ReplayError } from '../replay/errors.js';
import { migrateToLatest } from '../store/migrate.js';
import { holdsLog, openDatabase } from '../store/open.js';
import { CliError } from './common.js';

/**
 * Opens an existing log file for a read-side command, read-only and without replaying
 * it as a ledger would. Nothing is written: not the file (no migration, no journal
 * mode switch, no snapshot), and a copy nobody may write (mode 444 in a read-only
 * directory) can be read. A log of an older schema is read as it is when it can be.
 *
 * @throws CliError for a missing file or one that holds no log; StoreError for a file
 * that cannot be read, or a log that needs a migration first.
 * @example
 * const db = await openLogFile('./pasid-ledger.db');
 */
export async function openLogFile(path: string): Promise<BetterSqlite3.Database> {
  if (!existsSync(path)) throw new CliError(`${path}: no such file`);
  const db = openDatabase(path, { mustExist: true, readonly: true });
  try {
    if (!holdsLog(db)) throw new CliError(`${path} holds no pasid-ledger log`);
    await migrateToLatest(db, path);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Runs a read-side action, reporting a question the log cannot answer as bad input (exit 2). */
export async function answering<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ReplayError) throw new CliError(e.message);
    throw e;
  }
}

/** Progress callbacks for `progress()` bars: turns "reached n of total" into ticks. */
export function ticker(bar: { tick(n?: number): void }): (n: number) => void {
  let last = 0;
  return (n) => {
    if (n > last) bar.tick(n - last);
    last = n;
  };
}
