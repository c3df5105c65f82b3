import type BetterSqlite3 from 'better-sqlite3';
import { FileMigrationProvider, Kysely, Migrator, SqliteDialect } from 'kysely';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from './open.js';
import type { Database } from './schema.js';

/** Where the compiled migrations are: `migrations/` beside `src/`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** A kysely instance over an open better-sqlite3 handle (the read side's query builder). */
export function kyselyOver(db: BetterSqlite3.Database): Kysely<Database> {
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) });
}

async function knownMigrations(): Promise<string[]> {
  const files = await fs.readdir(MIGRATIONS_DIR);
  return files.filter((f) => f.endsWith('.js')).map((f) => f.replace(/\.js$/, '')).sort();
}

/**
 * Brings the schema to the latest version with kysely's `Migrator` over `migrations/`.
 * A file migrated by a newer pasid-ledger (a migration this code does not know) is
 * refused rather than guessed at. Two processes migrating one new file at once: the
 * loser sees SQLITE_BUSY and retries after the winner's commit.
 *
 * @throws StoreError for a newer schema, or a migration that fails.
 */
export async function migrateToLatest(db: BetterSqlite3.Database, label: string): Promise<void> {
  const known = new Set(await knownMigrations());
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='kysely_migration'").get();
  if (hasTable) {
    const done = db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{ name: string }>;
    const unknown = done.map((r) => r.name).filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new StoreError(`${label} was written by a newer pasid-ledger (schema migration ${unknown[0]} is unknown here): upgrade pasid-ledger to open it`);
    }
    if (done.length === known.size) return;
  }
  if (db.readonly) throw new StoreError(`${label} needs a schema migration and is open read-only`);
  const kysely = kyselyOver(db);
  const migrator = new Migrator({ db: kysely, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }) });
  for (let attempt = 0; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return;
    const busy = /SQLITE_BUSY|database is locked/i.test(String((error as Error).message ?? error));
    if (busy && attempt < 50) {
      await new Promise((r) => setTimeout(r, 20 + attempt * 10));
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new StoreError(`${label}: schema migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
}
