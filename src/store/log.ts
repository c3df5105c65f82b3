import type BetterSqlite3 from 'better-sqlite3';
import { canonicalEntry } from './canonical.js';
import { indexColumns } from './columns.js';
import { ChainStep } from './chain.js';
import { GENESIS_CHAIN } from './hash.js';
import { MerkleStore } from './tree.js';

/** One stored row: the entry text as hashed, its leaf and chain hashes. */
export interface LogRow {
  seq: number;
  entry: string;
  leaf: string;
  chain: string;
}

/** The last entry of the log: its seq (0 when empty) and chain value. */
export interface LogHead {
  seq: number;
  chain: string;
}

/**
 * The append-only log over one SQLite handle: the hot paths (append, catch-up, replay)
 * on raw prepared statements.
 */
export class EntryLog {
  private readonly insertStmt: BetterSqlite3.Statement;
  private readonly headStmt: BetterSqlite3.Statement;
  private readonly afterStmt: BetterSqlite3.Statement;
  private readonly rangeStmt: BetterSqlite3.Statement;
  private readonly rangeRawStmt: BetterSqlite3.Statement;
  private readonly requestIdStmt: BetterSqlite3.Statement;
  private readonly rowStmt: BetterSqlite3.Statement;

  /** Inside `immediate()`: the head as its appends left it (null before the first). Undefined outside. */
  private txHead: LogHead | null | undefined = undefined;

  /** The RFC 6962 tree over the leaves, kept in each append's transaction. */
  readonly tree: MerkleStore;

  /** `BEGIN IMMEDIATE`, the body, the tree's rows, `COMMIT`: made once (better-sqlite3 builds four wrappers per `transaction()`). */
  private readonly txImmediate: (body: () => unknown) => unknown;

  constructor(readonly db: BetterSqlite3.Database) {
    this.tree = new MerkleStore(db);
    this.insertStmt = db.prepare(
      `INSERT INTO entries (seq, entry, leaf, chain, at, type, op, machine, vm, container, mm, pasid, cause, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.headStmt = db.prepare('SELECT seq, chain FROM entries ORDER BY seq DESC LIMIT 1');
    this.afterStmt = db.prepare('SELECT seq, entry, leaf, chain FROM entries WHERE seq > ? ORDER BY seq');
    this.rangeStmt = db.prepare('SELECT seq, entry, leaf, chain FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq');
    this.rangeRawStmt = db.prepare('SELECT seq, entry, leaf, chain FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq').raw(true);
    this.requestIdStmt = db.prepare('SELECT seq, entry, leaf, chain FROM entries WHERE request_id = ?');
    this.rowStmt = db.prepare('SELECT seq, entry, leaf, chain FROM entries WHERE seq = ?');
    this.txImmediate = db.transaction((body: () => unknown) => {
      const out = body();
      // The tree nodes of all its appends, inserted together before the commit.
      this.tree.flush();
      return out;
    }).immediate;
  }

  /** The last entry's seq and chain; `{ seq: 0, chain: GENESIS_CHAIN }` for an empty log. */
  head(): LogHead {
    return (this.headStmt.get() as LogHead | undefined) ?? { seq: 0, chain: GENESIS_CHAIN };
  }

  /**
   * `head()`, read once per `immediate()` transaction: nobody else writes meanwhile, so
   * the head read first is then followed by this handle's appends. Outside one, read now.
   */
  headInTx(): LogHead {
    if (this.txHead === undefined) return this.head();
    return (this.txHead ??= this.head());
  }

  /**
   * Appends entries after the head: each is stored as its canonical JSON text with its
   * leaf and chain hashes and its indexing columns. Each text is proven to read back as
   * itself before it is stored (`canonicalEntry`): no entry that does not parse is ever written. Call inside `immediate()`; the
   * entries' `seq` must run on from the head (the table's trigger refuses a gap).
   *
   * @throws for an entry out of sequence or one JSON cannot hold (a TypeError: a bug)
   * or an IO error; the caller's transaction then rolls back and nothing is written.
   */
  append(entries: readonly Record<string, unknown>[]): LogHead {
    const h = this.headInTx();
    let { seq } = h;
    const step = new ChainStep(h.chain);
    const start = seq;
    const leaves: Buffer[] = [];
    try {
      for (const e of entries) {
        if (e.seq !== seq + 1) throw new Error(`bug: appending seq ${String(e.seq)} after ${seq}`);
        const entry = canonicalEntry(e);
        const { leaf, leafBytes, chain } = step.next(entry);
        seq += 1;
        const c = indexColumns(e);
        this.insertStmt.run(seq, entry, leaf, chain, c.at, c.type, c.op, c.machine, c.vm, c.container, c.mm, c.pasid, c.cause, c.request_id);
        leaves.push(leafBytes);
      }
      this.tree.append(start, leaves);
    } catch (err) {
      this.tree.forget();
      throw err;
    }
    const head = { seq, chain: step.chain };
    if (this.txHead !== undefined) this.txHead = head;
    return head;
  }

  /** Rows after `seq`, in order (lazily: a long log is not held in memory). */
  after(seq: number): IterableIterator<LogRow> {
    return this.afterStmt.iterate(seq) as IterableIterator<LogRow>;
  }

  /** Rows with `from < seq <= to`, in order. */
  range(from: number, to: number): IterableIterator<LogRow> {
    return this.rangeStmt.iterate(from, to) as IterableIterator<LogRow>;
  }

  /**
   * `range` with each row as the array `[seq, entry, leaf, chain]`: no object per row,
   * for the passes over the whole log (replay).
   */
  rangeColumns(from: number, to: number): IterableIterator<[number, string, string, string]> {
    return this.rangeRawStmt.iterate(from, to) as IterableIterator<[number, string, string, string]>;
  }

  /** `rangeColumns` read whole into an array (the connection is then free for other reads). */
  rangeColumnsAll(from: number, to: number): Array<[number, string, string, string]> {
    return this.rangeRawStmt.all(from, to) as Array<[number, string, string, string]>;
  }

  /** One row, or undefined. */
  row(seq: number): LogRow | undefined {
    return this.rowStmt.get(seq) as LogRow | undefined;
  }

  /** The request entry recorded under a caller's request id, if any. */
  byRequestId(id: string): LogRow | undefined {
    return this.requestIdStmt.get(id) as LogRow | undefined;
  }

  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction: all of it commits, or none. */
  immediate<T>(fn: () => T): T {
    this.txHead = null;
    this.tree.deferWrites = true;
    try {
      return this.txImmediate(fn) as T;
    } catch (e) {
      // Rolled back: the tree's cached right edge may hold leaves that were not kept.
      this.tree.forget();
      throw e;
    } finally {
      this.txHead = undefined;
      this.tree.deferWrites = false;
    }
  }
}
