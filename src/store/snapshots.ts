import type BetterSqlite3 from 'better-sqlite3';

/** One stored snapshot: the encoded state just after entry `seq`, and the log's chain there. */
export interface SnapshotRow {
  seq: number;
  chain: string;
  state: Buffer;
  created_at: string;
}

/**
 * The `snapshots` table: a cache of replayed states, never the truth. Raw prepared
 * statements (replay's hot path). Writing is best effort: a read-only handle, a busy
 * or full database, or a file migrated before the table existed only means the cache
 * is not kept; it never fails the caller.
 */
export class SnapshotStore {
  private readonly latestStmt: BetterSqlite3.Statement | null = null;
  private readonly saveStmt: BetterSqlite3.Statement | null = null;
  private readonly deleteStmt: BetterSqlite3.Statement | null = null;
  private readonly listStmt: BetterSqlite3.Statement | null = null;

  constructor(readonly db: BetterSqlite3.Database) {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'").get();
    if (!table) return;
    this.latestStmt = db.prepare('SELECT seq, chain, state, created_at FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1');
    this.listStmt = db.prepare('SELECT seq, chain, length(state) AS bytes, created_at FROM snapshots ORDER BY seq');
    if (db.readonly) return;
    this.saveStmt = db.prepare('INSERT OR REPLACE INTO snapshots (seq, chain, state, created_at) VALUES (?, ?, ?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM snapshots WHERE seq = ?');
  }

  /** Whether snapshots can be written through this handle. */
  get writable(): boolean {
    return this.saveStmt !== null;
  }

  /**
   * The newest snapshot at or before `seq`, or undefined.
   *
   * @example
   * new SnapshotStore(db).latestAtOrBefore(250_000)?.seq; // 200000
   */
  latestAtOrBefore(seq: number): SnapshotRow | undefined {
    return this.latestStmt?.get(seq) as SnapshotRow | undefined;
  }

  /**
   * Stores (or replaces) the snapshot at `seq`. Returns false when the cache could not
   * be written (read-only handle, busy or full database); the caller carries on.
   *
   * @example
   * store.save(100_000, row.chain, encodeState(state));
   */
  save(seq: number, chain: string, state: Buffer, createdAt = new Date().toISOString()): boolean {
    if (!this.saveStmt) return false;
    try {
      this.saveStmt.run(seq, chain, state, createdAt);
      return true;
    } catch (e) {
      if (isSqliteError(e)) return false;
      throw e;
    }
  }

  /**
   * Stores (or replaces) the snapshot at `seq`, inside the caller's transaction.
   *
   * @throws the SQLite error (a read-only handle is a bug here), so that the
   * transaction that appends the snapshot's log entry rolls back with it.
   */
  insert(seq: number, chain: string, state: Buffer, createdAt = new Date().toISOString()): void {
    if (!this.saveStmt) throw new Error('bug: snapshot insert on a handle that cannot write');
    this.saveStmt.run(seq, chain, state, createdAt);
  }

  /**
   * Drops the snapshot at `seq` (one that no longer matches the log). Best effort, as `save`.
   *
   * @example
   * store.delete(200_000); // true when a row was removed
   */
  delete(seq: number): boolean {
    if (!this.deleteStmt) return false;
    try {
      return this.deleteStmt.run(seq).changes > 0;
    } catch (e) {
      if (isSqliteError(e)) return false;
      throw e;
    }
  }

  /**
   * Every snapshot's seq, chain, size in bytes and creation time, oldest first.
   *
   * @example
   * store.list(); // [{ seq: 100000, chain: '9f…', bytes: 713000, created_at: '…' }]
   */
  list(): Array<{ seq: number; chain: string; bytes: number; created_at: string }> {
    return (this.listStmt?.all() ?? []) as Array<{ seq: number; chain: string; bytes: number; created_at: string }>;
  }
}

function isSqliteError(e: unknown): boolean {
  return e instanceof Error && e.name === 'SqliteError';
}
