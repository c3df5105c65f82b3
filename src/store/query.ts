import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

/**
 * A kysely instance over an open better-sqlite3 handle: the read side's query builder.
 * Kept apart from the migrator so that opening an up-to-date log loads no kysely at all
 * (it is most of the CLI's start-up time).
 *
 * @example
 * await kyselyOver(db).selectFrom('entries').select('entry').where('vm', '=', 'vm1').execute();
 */
export function kyselyOver(db: BetterSqlite3.Database): Kysely<Database> {
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) });
}
