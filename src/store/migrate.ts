import type BetterSqlite3 from 'better-sqlite3';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdsLog, NotALogError, SchemaTooNewError, StoreError } from './open.js';

/** Where the compiled migrations are: `migrations/` beside `src/`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

async function knownMigrations(): Promise<string[]> {
  const files = await fs.readdir(MIGRATIONS_DIR);
  return files.filter((f) => f.endsWith('.js')).map((f) => f.replace(/\.js$/, '')).sort();
}

/**
 * Migrations a reader can do without: a log whose only pending migrations are these is
 * read as it is (0002 adds the snapshot cache, which readers never need).
 */
const READABLE_WITHOUT = new Set(['2026_11_25_0002_snapshots', '2026_12_02_0003_merkle_tree']);

/** The migrations a file has run, and those of this code it has not. @throws StoreError for a newer schema. */
function pendingMigrations(db: BetterSqlite3.Database, known: readonly string[], label: string): string[] {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='kysely_migration'").get();
  if (!hasTable) return [...known];
  const done = new Set((db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name));
  const unknown = [...done].filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(label, unknown[0]!, `${label} was written by a newer pasid-ledger (schema migration ${unknown[0]} is unknown here): upgrade pasid-ledger to open it`);
  }
  return known.filter((n) => !done.has(n));
}

/**
 * Brings the schema to the latest version with kysely's `Migrator` over `migrations/`.
 * A file migrated by a newer pasid-ledger (a migration this code does not know) is
 * refused rather than guessed at.
 *
 * Any number of processes may create or migrate one file at once: the migrations run
 * inside one `BEGIN IMMEDIATE` transaction (SQLite's write lock; kysely's own lock is
 * only in-process), and what is pending is re-read once the lock is held, so the
 * processes that waited find the work done. A waiter gives up after the handle's busy
 * timeout (SQLITE_BUSY is thrown as is).
 *
 * On a read-only handle nothing is written: a log whose pending migrations readers can
 * do without is read as it is; a file without a log, or one that needs a migration
 * first, is refused.
 *
 * @throws StoreError for a newer schema, a file that holds no log (read-only), a
 * migration that fails; SqliteError SQLITE_BUSY when another writer holds the lock
 * past the busy timeout.
 * @example
 * await migrateToLatest(openDatabase('./pasid-ledger.db'), './pasid-ledger.db');
 */
export async function migrateToLatest(db: BetterSqlite3.Database, label: string): Promise<void> {
  const known = await knownMigrations();
  if (db.readonly) {
    if (!holdsLog(db)) throw new NotALogError(label, `${label} holds no pasid-ledger log`);
    const needed = pendingMigrations(db, known, label).filter((n) => !READABLE_WITHOUT.has(n));
    if (needed.length > 0) {
      throw new StoreError(`${label} needs schema migration ${needed[0]} before it can be read, and is open read-only: open it once with a writing command (e.g. "pasid-ledger run /dev/null --db ${label}")`);
    }
    return;
  }
  if (pendingMigrations(db, known, label).length === 0) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    if (pendingMigrations(db, known, label).length > 0) {
      // kysely is loaded only when a migration is due: an up-to-date log opens without it.
      const { FileMigrationProvider, Kysely, Migrator, SqliteDialect } = await import('kysely');
      const migrator = new Migrator({
        db: new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) }),
        provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
        disableTransactions: true, // the BEGIN IMMEDIATE above is the transaction
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
        throw new StoreError(`${label}: schema migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
      }
    }
    db.exec('COMMIT');
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
