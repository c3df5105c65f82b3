import { sql, type Kysely } from 'kysely';

/**
 * The RFC 6962 Merkle tree over the entries' leaves (tree index = seq - 1): one row per
 * complete subtree, keyed by its in-order position: leaf i at 2i, the subtree of 2^L
 * leaves starting at leaf s at 2s + 2^L - 1 (between its two halves). The nodes one
 * append completes sit just before its leaf, so an append's rows share a page. `hash`
 * is the 32-byte node hash. Any tree size's root and any inclusion or consistency proof
 * reads O(log n) rows. Append-only like `entries`.
 *
 * This migration only creates the table: kysely runs a migration in one transaction,
 * so filling it for an existing log (one pass over the leaves) is left to the store,
 * which does it in committed chunks with progress and resumes where it stopped
 * (`pasid-ledger migrate`, or any write open). Frozen: never edit, add a new migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE tree_nodes (
    pos INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
  )`.execute(db);
  await sql`CREATE TRIGGER tree_nodes_no_update BEFORE UPDATE ON tree_nodes
    BEGIN SELECT RAISE(ABORT, 'tree nodes are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER tree_nodes_no_delete BEFORE DELETE ON tree_nodes
    BEGIN SELECT RAISE(ABORT, 'tree nodes are append-only: DELETE refused'); END`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE tree_nodes`.execute(db);
}
