import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A kysely instance over an open better-sqlite3 handle: the read side's query builder,
 * and kysely's `sql` tag. kysely is imported on first use, not at start-up: it is most
 * of the CLI's start-up time, and neither `--help` nor opening an up-to-date log needs it.
 *
 * @example
 * const { k } = await kyselyOver(db);
 * await k.selectFrom('entries').select('entry').where('vm', '=', 'vm1').execute();
 */
export async function kyselyOver(db: BetterSqlite3.Database): Promise<{ k: Kysely<Database>; sql: typeof import('kysely').sql }> {
  const { Kysely, SqliteDialect, sql } = await import('kysely');
  return { k: new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) }), sql };
}
