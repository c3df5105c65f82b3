import { sql, type Kysely } from 'kysely';

/**
 * The log: one row per entry, global order, no gaps. `entry` is the RFC 8785
 * canonical JSON text that was hashed; `leaf` and `chain` are its RFC 6962 leaf hash
 * and the running chain (hex). The other columns are copied out of `entry` for
 * indexing and are checked against it by the verifier. Frozen: never edit, add a
 * new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('entries')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('entry', 'text', (c) => c.notNull())
    .addColumn('leaf', 'text', (c) => c.notNull())
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('op', 'text')
    .addColumn('machine', 'text')
    .addColumn('vm', 'text')
    .addColumn('container', 'text')
    .addColumn('mm', 'text')
    .addColumn('pasid', 'integer')
    .addColumn('cause', 'integer')
    .addColumn('request_id', 'text')
    .execute();
  for (const col of ['vm', 'container', 'mm', 'pasid', 'cause']) {
    await db.schema.createIndex(`entries_${col}`).on('entries').column(col).where(sql.ref(col), 'is not', null).execute();
  }
  await db.schema.createIndex('entries_request_id').unique().on('entries').column('request_id').where(sql.ref('request_id'), 'is not', null).execute();
  await sql`CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'entries are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'entries are append-only: DELETE refused'); END`.execute(db);
  await sql`CREATE TRIGGER entries_no_gap BEFORE INSERT ON entries
    WHEN NEW.seq IS NOT (SELECT IFNULL(MAX(seq), 0) + 1 FROM entries)
    BEGIN SELECT RAISE(ABORT, 'entries are append-only: seq must follow the last entry'); END`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('entries').execute();
}
