import type BetterSqlite3 from 'better-sqlite3';
import { canonicalJson } from '../src/store/canonical.js';
import { indexColumns } from '../src/store/columns.js';
import { chainHash, GENESIS_CHAIN, leafHash } from '../src/store/hash.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, type OpenOptions } from '../src/store/open.js';

/**
 * The ceiling: raw better-sqlite3 writing and reading the very rows the ledger writes,
 * on a file opened with the ledger's pragmas (`openDatabase`: WAL, `synchronous=FULL`
 * unless told otherwise) and created by the project's migrations (same table, indexes
 * and triggers). Each entry is serialised as RFC 8785 text with the project's
 * `canonicalJson`, hashed (leaf and chain, SHA-256), and inserted with its indexing
 * columns through one positional prepared statement. No model, no decision.
 *
 * @example
 * const raw = await RawLog.open(path); raw.appendTx(groups); rawScan(raw.db);
 */
export class RawLog {
  private readonly insert: BetterSqlite3.Statement;
  private seq = 0;
  private chain = GENESIS_CHAIN;

  private constructor(readonly db: BetterSqlite3.Database) {
    this.insert = db.prepare(
      `INSERT INTO entries (seq, entry, leaf, chain, at, type, op, machine, vm, container, mm, pasid, cause, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const head = db.prepare('SELECT seq, chain FROM entries ORDER BY seq DESC LIMIT 1').get() as { seq: number; chain: string } | undefined;
    if (head) ({ seq: this.seq, chain: this.chain } = head);
  }

  /**
   * Opens (creating and migrating) a raw log file.
   *
   * @example
   * const raw = await RawLog.open('/tmp/raw.db'); raw.appendTx([rows]);
   */
  static async open(path: string, opts: OpenOptions = {}): Promise<RawLog> {
    const db = openDatabase(path, opts);
    await migrateToLatest(db, path);
    return new RawLog(db);
  }

  /** The seq of the last row written. */
  get head(): number {
    return this.seq;
  }

  /**
   * Appends the entries of each group in one `BEGIN IMMEDIATE` transaction; each
   * entry gets the next seq, and `at` (the moment of the transaction, as the ledger's
   * clock stamps it) on every entry that is not the config. The groups come from a
   * ledger's log with the same prefix, so seq and cause already line up.
   */
  appendTx(groups: readonly (readonly Record<string, unknown>[])[]): void {
    this.db.transaction(() => {
      const at = new Date().toISOString();
      for (const g of groups) {
        for (const e of g) {
          e.seq = ++this.seq;
          if (e.type !== 'config') e.at = at;
          const entry = canonicalJson(e);
          const leaf = leafHash(entry);
          this.chain = chainHash(this.chain, leaf);
          const c = indexColumns(e);
          this.insert.run(c.seq, entry, leaf, this.chain, c.at, c.type, c.op, c.machine, c.vm, c.container, c.mm, c.pasid, c.cause, c.request_id);
        }
      }
    }).immediate();
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The read ceiling: every row of a log in seq order, with `JSON.parse` of its text,
 * its leaf hash recomputed and compared, and the chain recomputed and compared.
 * Returns the number of rows read.
 *
 * @throws when a hash does not match (the log is damaged: the bench stops).
 * @example
 * rawScan(new Database(path, { readonly: true })); // 1000571
 */
export function rawScan(db: BetterSqlite3.Database): number {
  const stmt = db.prepare('SELECT entry, leaf, chain FROM entries ORDER BY seq').raw(true);
  let chain = GENESIS_CHAIN;
  let n = 0;
  let parsed = 0;
  for (const row of stmt.iterate() as IterableIterator<[string, string, string]>) {
    const [entry, leaf, ch] = row;
    const e = JSON.parse(entry) as { seq: number };
    parsed += e.seq > 0 ? 1 : 0;
    if (leafHash(entry) !== leaf) throw new Error(`leaf mismatch at row ${n + 1}`);
    chain = chainHash(chain, leaf);
    if (chain !== ch) throw new Error(`chain mismatch at row ${n + 1}`);
    n++;
  }
  if (parsed !== n) throw new Error('bug: a row without seq');
  return n;
}
