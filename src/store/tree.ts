import type BetterSqlite3 from 'better-sqlite3';
import { Frontier, rootAt, subtrees, hashChildren, type NodeReader } from '../tlog/merkle.js';
import { consistencyPath, inclusionPath } from '../tlog/proof.js';

/** Leaves built per committed transaction when filling the tree of an existing log. */
const CATCH_UP_CHUNK = 50_000;
/** Levels from which stored nodes are cached in memory (1/16 of the leaves' count, 32 bytes each). */
const CACHED_LEVEL = 4;
const CACHE_MAX = 1 << 18;
/** Rows per multi-row INSERT. */
const MULTI_ROWS = 32;

/**
 * A subtree's row in `tree_nodes`: its in-order position (leaf i at 2i; the subtree of
 * 2^level leaves from leaf index * 2^level between its halves).
 */
export function nodePos(level: number, index: number): number {
  return index * 2 ** (level + 1) + 2 ** level - 1;
}

/**
 * The RFC 6962 tree of the log in `tree_nodes`: every complete subtree's hash, leaves
 * included (tree index = seq - 1). Appends add the leaf and the nodes it completes in
 * the append's own transaction; reads cost O(log n) point lookups. On a log whose tree
 * is missing or behind (an older schema opened read-only), nodes not in the table are
 * computed from the entries' `leaf` column in memory: slower, still right.
 */
export class MerkleStore {
  /** Whether `tree_nodes` exists in this file. */
  readonly present: boolean;
  private readonly getStmt: BetterSqlite3.Statement | null;
  private readonly insertStmt: BetterSqlite3.Statement | null;
  /** Multi-row inserts by their number of rows (1 to MULTI_ROWS), prepared on first use. */
  private readonly insertRowsStmts = new Map<number, BetterSqlite3.Statement>();
  /** (pos, hash) pairs laid flat, added by `append` in a transaction and not yet inserted (see `flush`). */
  private pending: Array<number | Buffer> = [];
  /** Whether `append` leaves its rows for `flush` (set by the log for the span of its transaction). */
  deferWrites = false;
  private readonly lastLeafStmt: BetterSqlite3.Statement | null;
  private readonly leafStmt: BetterSqlite3.Statement;
  private readonly leavesStmt: BetterSqlite3.Statement;
  private readonly sizeStmt: BetterSqlite3.Statement;
  /** Nodes computed because the table lacked them (read-only fallback). */
  private readonly computed = new Map<number, Buffer>();
  /** Stored nodes of the upper levels, read once. */
  private readonly cache = new Map<number, Buffer>();
  /** The right edge after the last append this process made (reused while the log did not move). */
  private frontier: Frontier | null = null;

  constructor(readonly db: BetterSqlite3.Database) {
    this.present = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tree_nodes'").get() !== undefined;
    this.getStmt = this.present ? db.prepare('SELECT hash FROM tree_nodes WHERE pos = ?').pluck() : null;
    this.insertStmt = this.present && !db.readonly ? db.prepare('INSERT INTO tree_nodes (pos, hash) VALUES (?, ?)') : null;
    // The last leaf has the highest position: the nodes it completed sit before it.
    this.lastLeafStmt = this.present ? db.prepare('SELECT max(pos) FROM tree_nodes').pluck() : null;
    this.leafStmt = db.prepare('SELECT leaf FROM entries WHERE seq = ?').pluck();
    this.leavesStmt = db.prepare('SELECT leaf FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq').pluck();
    this.sizeStmt = db.prepare('SELECT seq FROM entries ORDER BY seq DESC LIMIT 1').pluck();
  }

  /** The log's size (its last seq, 0 when empty). */
  logSize(): number {
    return (this.sizeStmt.get() as number | undefined) ?? 0;
  }

  /** How many leaves the stored tree covers (0 without the table). */
  builtSize(): number {
    if (!this.lastLeafStmt) return 0;
    this.flush();
    const last = this.lastLeafStmt.get() as number | null | undefined;
    return last === null || last === undefined ? 0 : last / 2 + 1;
  }

  /**
   * The hash of the complete subtree (level, index): from the table, else computed from
   * the entries' leaves.
   *
   * @throws Error when the subtree reaches past the log's end.
   */
  readonly node: NodeReader = (level, index) => {
    const key = level * 2 ** 40 + index;
    const cached = level >= CACHED_LEVEL ? this.cache.get(key) : undefined;
    if (cached) return cached;
    if (this.pending.length > 0) this.flush();
    const stored = this.getStmt?.get(nodePos(level, index)) as Buffer | undefined;
    if (stored) {
      // A subtree's hash never changes once its leaves are in: the upper levels, few
      // and shared by every proof, are read once per process.
      if (level >= CACHED_LEVEL && this.cache.size < CACHE_MAX) this.cache.set(key, stored);
      return stored;
    }
    const memo = this.computed.get(key);
    if (memo) return memo;
    let h: Buffer;
    if (level === 0) {
      const hex = this.leafStmt.get(index + 1) as string | undefined;
      if (hex === undefined) throw new Error(`the log has no entry ${index + 1}`);
      h = Buffer.from(hex, 'hex');
    } else {
      h = hashChildren(this.node(level - 1, 2 * index), this.node(level - 1, 2 * index + 1));
    }
    if (this.computed.size > 4_000_000) this.computed.clear();
    this.computed.set(key, h);
    return h;
  };

  /**
   * Runs `fn` in one read transaction (unless one is open): every node it reads comes
   * from the same snapshot of the file, and SQLite takes its read lock once instead
   * of once per node (proofs read some 40 nodes).
   */
  snapshot<T>(fn: () => T): T {
    return this.db.inTransaction ? fn() : this.db.transaction(fn).deferred();
  }

  /** The RFC 6962 root of the first `size` entries. */
  root(size: number): Buffer {
    return rootAt(size, this.node);
  }

  /** The inclusion proof of entry `seq` in the tree of `size` entries (hashes from the leaf up). */
  inclusion(seq: number, size: number): Buffer[] {
    return inclusionPath(seq - 1, size, this.node);
  }

  /** The consistency proof from the tree of `oldSize` entries to the tree of `size`. */
  consistency(oldSize: number, size: number): Buffer[] {
    return consistencyPath(oldSize, size, this.node);
  }

  /**
   * Adds leaves `size+1 ...` (the entries just inserted after `size`) and the nodes they
   * complete. Call in the append's transaction, after the entries; a transaction that
   * rolls back must call `forget()`.
   */
  append(size: number, leaves: readonly Buffer[]): void {
    if (!this.insertStmt) return;
    let f = this.frontier;
    if (f === null || f.size !== size) f = this.frontierAt(size);
    this.frontier = null;
    const rows = this.pending;
    for (const leaf of leaves) {
      rows.push(2 * f.size, leaf);
      for (const n of f.push(leaf)) rows.push(nodePos(n.level, n.index), n.hash);
    }
    this.frontier = f;
    // In the log's transaction the rows wait for its end: a batch's go in by MULTI_ROWS per statement.
    if (!this.deferWrites) this.flush();
  }

  /**
   * Inserts the rows `append` left, many per statement (one call into SQLite for up to
   * MULTI_ROWS rows). The log calls it at the end of its transaction, before the commit;
   * a read of the stored tree calls it first.
   */
  flush(): void {
    const rows = this.pending;
    if (rows.length === 0) return;
    this.pending = [];
    const width = 2 * MULTI_ROWS;
    let i = 0;
    if (rows.length >= width) {
      const many = this.insertRowsStmt(MULTI_ROWS);
      const args: Array<number | Buffer> = new Array<number | Buffer>(width);
      for (; i + width <= rows.length; i += width) {
        for (let j = 0; j < width; j++) args[j] = rows[i + j]!;
        many.run(args);
      }
    }
    if (i < rows.length) this.insertRowsStmt((rows.length - i) / 2).run(i === 0 ? rows : rows.slice(i));
  }

  /** The prepared INSERT of `n` rows. */
  private insertRowsStmt(n: number): BetterSqlite3.Statement {
    let stmt = this.insertRowsStmts.get(n);
    if (!stmt) {
      stmt = this.db.prepare(`INSERT INTO tree_nodes (pos, hash) VALUES ${Array.from({ length: n }, () => '(?, ?)').join(', ')}`);
      this.insertRowsStmts.set(n, stmt);
    }
    return stmt;
  }

  /** Drops the cached right edge and the rows not yet inserted (after a rolled-back transaction). */
  forget(): void {
    this.frontier = null;
    this.pending = [];
  }

  /** The right edge at `size`, building the stored tree up to there first if it is behind. */
  private frontierAt(size: number): Frontier {
    const built = this.builtSize();
    if (built < size) this.build(built, size);
    return new Frontier(size, subtrees(size).map((p) => this.node(p.level, p.index)));
  }

  /** Stores the nodes of leaves `from+1 .. to` (seqs), given a complete tree of `from`. */
  private build(from: number, to: number): void {
    const ins = this.insertStmt;
    if (!ins) throw new Error('bug: building the tree on a read-only handle');
    const f = new Frontier(from, subtrees(from).map((p) => this.node(p.level, p.index)));
    // Read in slices: one connection cannot insert while a statement iterates.
    for (let at = from; at < to; at += CATCH_UP_CHUNK) {
      for (const hex of this.leavesStmt.all(at, Math.min(to, at + CATCH_UP_CHUNK)) as string[]) {
        const leaf = Buffer.from(hex, 'hex');
        ins.run(2 * f.size, leaf);
        for (const n of f.push(leaf)) ins.run(nodePos(n.level, n.index), n.hash);
      }
    }
    if (f.size !== to) throw new Error(`bug: the log has a gap before seq ${to}`);
  }

  /**
   * Fills the stored tree of an existing log up to its end in committed chunks (each
   * its own `BEGIN IMMEDIATE` transaction), so that an interrupted run resumes where
   * it stopped. A no-op when the tree is complete or the handle is read-only.
   *
   * @example
   * new MerkleStore(db).catchUp((done, total) => bar.update(done));
   */
  catchUp(onProgress?: (built: number, total: number) => void, chunk = CATCH_UP_CHUNK): { from: number; to: number } {
    const from = this.builtSize();
    if (!this.insertStmt) return { from, to: from };
    let built = from;
    for (;;) {
      const step = this.db.transaction(() => {
        const start = this.builtSize();
        const end = Math.min(this.logSize(), start + chunk);
        if (end > start) this.build(start, end);
        return end;
      });
      const end = step.immediate();
      if (end === built) break;
      built = end;
      onProgress?.(built, this.logSize());
    }
    this.frontier = null;
    return { from, to: built };
  }
}
