import { FileMigrationProvider, Kysely, Migrator, PostgresDialect } from 'kysely';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { FleetDatabase } from './schema.js';

import { FleetError } from './errors.js';

export { FleetError };

/** Where the compiled PostgreSQL migrations are: `migrations/postgres/`. */
export const PG_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/postgres', import.meta.url));

// bigint (seq, pasid, cause) as a JS number: every value stored fits in 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** Checks the shape of a PostgreSQL URL before connecting. */
export function checkPgUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FleetError(`not a PostgreSQL URL: ${JSON.stringify(url.slice(0, 80))} (expected postgres://user@host:port/db)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new FleetError(`not a PostgreSQL URL: ${redactUrl(url)} (expected postgres://...)`);
}

/** pg client options for a URL: bigint columns read as numbers. */
export function pgConfig(url: string): pg.ClientConfig {
  checkPgUrl(url);
  return { connectionString: url, types, application_name: 'pasid-ledger' };
}

/** A pg client class: `pg.Client`, or one made by `stoppableClients` (src/fleet/open_fleet.ts). */
export type PgClientClass = new (config: pg.ClientConfig) => pg.Client;

/**
 * Connects one client to the fleet store (`Client`: the client class, default `pg.Client`).
 *
 * @throws FleetError when the URL is malformed or the server cannot be reached.
 * @example
 * const c = await connectPg('postgres://ledger@db.example/fleet');
 */
export async function connectPg(url: string, Client: PgClientClass = pg.Client): Promise<pg.Client> {
  const c = new Client(pgConfig(url));
  try {
    await c.connect();
  } catch (e) {
    await c.end().catch(() => {});
    throw new FleetError(`cannot connect to ${redactUrl(url)}: ${(e as Error).message}`);
  }
  return c;
}

/** kysely over a pool for the read side's queries and the migrations (`Client`: the pool's client class, default `pg.Client`). */
export function kyselyPg(url: string, Client: PgClientClass = pg.Client): Kysely<FleetDatabase> {
  const pool = new pg.Pool({ ...pgConfig(url), max: 2, Client: Client as unknown as pg.PoolConfig['Client'] });
  return new Kysely<FleetDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Brings the fleet schema to the latest version (kysely's `Migrator` over
 * `migrations/postgres/`, which takes an advisory lock: shippers starting at once
 * migrate once). A database migrated by a newer pasid-ledger is refused.
 *
 * @throws FleetError for a newer schema or a failed migration.
 * @example
 * await migratePg(kysely);
 */
export async function migratePg(db: Kysely<FleetDatabase>): Promise<void> {
  const known = new Set((await fs.readdir(PG_MIGRATIONS_DIR)).filter((f) => f.endsWith('.js')).map((f) => f.replace(/\.js$/, '')));
  const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: PG_MIGRATIONS_DIR }) });
  const done = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined).map((m) => m.name);
  const unknown = done.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new FleetError(`the fleet database was migrated by a newer pasid-ledger (migration ${unknown[0]} is unknown here): upgrade pasid-ledger`);
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new FleetError(`fleet schema migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
}
