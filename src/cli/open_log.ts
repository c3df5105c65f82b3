import type BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ReplayError } from '../replay/errors.js';
import { migrateToLatest } from '../store/migrate.js';
import { holdsLog, openDatabase } from '../store/open.js';
import { CliError } from './common.js';

/**
 * Opens an existing log file for a read-side command, without replaying it to the end
 * as a ledger would. `readonly`: nothing is written (verify: the file under audit is
 * left as it is); otherwise the schema is brought up to date so that replays can keep
 * their snapshot cache.
 *
 * @throws CliError for a missing file or one that holds no log; StoreError for a file
 * that is not a database.
 */
export async function openLogFile(path: string, opts: { readonly?: boolean } = {}): Promise<BetterSqlite3.Database> {
  if (!existsSync(path)) throw new CliError(`${path}: no such file`);
  const db = openDatabase(path, { mustExist: true, readonly: opts.readonly ?? false });
  try {
    if (!holdsLog(db)) throw new CliError(`${path} holds no pasid-ledger log (no entries table)`);
    if (!opts.readonly) await migrateToLatest(db, path);
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
