import type { Kysely } from 'kysely';

/**
 * Snapshots of the replayed host: a cache, never the truth (the log is). A row holds
 * the state just after entry `seq`, the log's `chain` at that seq (a snapshot whose
 * chain no longer matches the log is ignored), and the encoded state. Rows may be
 * replaced or deleted at will, so the table has no append-only triggers. Frozen:
 * never edit, add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('snapshots')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('state', 'blob', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('snapshots').execute();
}
