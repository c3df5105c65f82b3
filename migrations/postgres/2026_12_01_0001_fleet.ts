import { sql, type Kysely } from 'kysely';

/**
 * The fleet's store in PostgreSQL: every host's log, keyed `(host, seq)`, exactly as the
 * host wrote it (the canonical entry text, its leaf and chain, the indexing columns), a
 * head row per host, and signed checkpoints. Frozen: never edit, add a new migration.
 *
 * The server itself refuses what would break a host's chain, whoever inserts: a
 * statement-level trigger (one call per INSERT, over its transition table) recomputes
 * every new row's leaf from its text with PostgreSQL's `sha256()` and its chain from the
 * row before it (seq - 1, in the same statement or already stored; 32 zero bytes before
 * seq 1), so a host's rows always run 1, 2, 3, ... with every hash right. UPDATE, DELETE
 * and TRUNCATE of entries are refused. Only the owner of the tables (who can disable
 * triggers) can get around this.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE hosts (
    host text PRIMARY KEY,
    head_seq bigint NOT NULL DEFAULT 0,
    head_chain text NOT NULL DEFAULT repeat('0', 64),
    head_at text,
    source_seq bigint NOT NULL DEFAULT 0,
    shipped_at timestamptz,
    seen_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
  await sql`CREATE TABLE entries (
    host text NOT NULL,
    seq bigint NOT NULL,
    entry text NOT NULL,
    leaf text NOT NULL,
    chain text NOT NULL,
    at text NOT NULL,
    type text NOT NULL,
    op text,
    machine text,
    vm text,
    container text,
    mm text,
    pasid bigint,
    cause bigint,
    request_id text,
    PRIMARY KEY (host, seq)
  )`.execute(db);
  await sql`CREATE INDEX entries_vm ON entries (vm, host, seq) WHERE vm IS NOT NULL`.execute(db);
  await sql`CREATE INDEX entries_mm ON entries (mm, host, seq) WHERE mm IS NOT NULL`.execute(db);
  await sql`CREATE INDEX entries_pasid ON entries (pasid, host, seq) WHERE pasid IS NOT NULL`.execute(db);
  await sql`CREATE TABLE checkpoints (
    host text NOT NULL,
    size bigint NOT NULL,
    chain text NOT NULL,
    at text NOT NULL,
    public_key text NOT NULL,
    signature text NOT NULL,
    shipped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, size, signature)
  )`.execute(db);

  await sql`CREATE FUNCTION entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'entries are append-only: % refused', TG_OP USING ERRCODE = 'P0001';
    END $$`.execute(db);
  await sql`CREATE TRIGGER entries_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_append_only()`.execute(db);

  // The previous row of each new row is the one before it in the same statement (lag over
  // the transition table) or, for the first row of a host in the statement, the stored one:
  // one index look-up per host and statement, not per row.
  await sql`CREATE FUNCTION entries_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
      WITH n AS (
        SELECT a.host, a.seq, a.leaf, a.chain,
               encode(sha256('\\x00'::bytea || convert_to(a.entry, 'UTF8')), 'hex') AS want_leaf,
               lag(a.seq) OVER w AS pseq, lag(a.chain) OVER w AS pchain
          FROM added a WINDOW w AS (PARTITION BY a.host ORDER BY a.seq)
      ), m AS (
        SELECT n.*, CASE WHEN n.seq = 1 THEN repeat('0', 64)
                         WHEN n.pseq = n.seq - 1 THEN n.pchain
                         ELSE (SELECT p.chain FROM entries p WHERE p.host = n.host AND p.seq = n.seq - 1) END AS prev
          FROM n
      )
      SELECT m.host, m.seq,
             CASE WHEN m.seq < 1 THEN 'seq must be positive'
                  WHEN m.leaf IS DISTINCT FROM m.want_leaf THEN 'the entry text does not hash to its leaf'
                  WHEN m.prev IS NULL THEN 'entry ' || (m.seq - 1) || ' is missing'
                  ELSE 'the chain is not SHA-256 of the previous chain and this leaf' END AS why
        INTO bad
        FROM m
       WHERE m.seq < 1 OR m.leaf IS DISTINCT FROM m.want_leaf OR m.prev IS NULL
          OR m.chain IS DISTINCT FROM encode(sha256(decode(m.prev, 'hex') || decode(m.leaf, 'hex')), 'hex')
       ORDER BY m.host, m.seq
       LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'host %: seq % refused: %', bad.host, bad.seq, bad.why USING ERRCODE = 'P0001';
      END IF;
      INSERT INTO hosts AS h (host, head_seq, head_chain, head_at, shipped_at)
        SELECT DISTINCT ON (host) host, seq, chain, at, now() FROM added ORDER BY host, seq DESC
        ON CONFLICT (host) DO UPDATE SET head_seq = excluded.head_seq, head_chain = excluded.head_chain,
          head_at = excluded.head_at, shipped_at = excluded.shipped_at
        WHERE h.head_seq < excluded.head_seq;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER entries_chain AFTER INSERT ON entries REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION entries_check_chain()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE checkpoints`.execute(db);
  await sql`DROP TABLE entries`.execute(db);
  await sql`DROP TABLE hosts`.execute(db);
  await sql`DROP FUNCTION entries_check_chain()`.execute(db);
  await sql`DROP FUNCTION entries_append_only()`.execute(db);
}
