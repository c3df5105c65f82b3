import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A store that cannot be opened, with a message a person can act on. */
export class StoreError extends Error {
  override name = 'StoreError';
}

/** The file is not a pasid-ledger log (another database, not a database at all, or empty where a log must exist). */
export class NotALogError extends StoreError {
  override name = 'NotALogError';
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

/** The log was migrated by a newer pasid-ledger: `migration` is a schema migration this code does not know. */
export class SchemaTooNewError extends StoreError {
  override name = 'SchemaTooNewError';
  constructor(readonly path: string, readonly migration: string, message: string) {
    super(message);
  }
}

/** An option differs from the configuration the log was created with: `conflicts` says which, one per option. */
export class ConfigMismatchError extends StoreError {
  override name = 'ConfigMismatchError';
  constructor(readonly path: string, readonly conflicts: readonly string[], message: string) {
    super(message);
  }
}

/** Another process held the log's write lock for the whole busy timeout: nothing was written. */
export class BusyError extends StoreError {
  override name = 'BusyError';
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`${path}: database is busy (another writer holds it)`);
  }
}

export interface OpenOptions {
  /**
   * Open for reading only; the file must exist. Nothing is written to it, and a file
   * nobody may write (an auditor's copy in a read-only directory) can be read.
   */
  readonly?: boolean;
  /** Refuse to create a missing file. */
  mustExist?: boolean;
  /** Milliseconds a writer waits for another process's transaction. Default 30000. */
  busyTimeout?: number;
  /** `FULL` (default): an acknowledged request survives power loss. `NORMAL` trades that for speed. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
}

/** Tables a pasid-ledger log may hold: a database with another table and no log is someone else's. */
const OUR_TABLES = new Set(['entries', 'snapshots', 'kysely_migration', 'kysely_migration_lock']);

/**
 * Opens the SQLite file with the ledger's pragmas: WAL, `synchronous=FULL`, a busy
 * timeout so that concurrent writers queue instead of seeing SQLITE_BUSY.
 *
 * Read-only (`readonly: true`) nothing is written: no journal-mode switch, no table;
 * the handle also has `query_only` set. When the file's directory is not writable
 * (SQLite cannot create the `-shm` a WAL reader needs) and no `-wal` file exists
 * (a checkpointed copy), the file is opened as immutable, which needs URI filenames
 * (`SQLITE_USE_URI=1` in the environment before better-sqlite3 is first used; the
 * CLI sets it).
 *
 * Writable, a database that holds tables but none of a pasid-ledger log is refused
 * before anything is changed in it.
 *
 * @throws StoreError when the directory is missing, the file is missing and must
 * exist, is a directory, is not a database, is another application's database
 * (writable open), or cannot be read (a `-wal` beside it in a read-only directory).
 * @example
 * const db = openDatabase('./pasid-ledger.db');
 * const ro = openDatabase('/mnt/evidence/host.db', { readonly: true });
 */
export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  const memory = path === ':memory:';
  // A name starting with "file:" would be read as a URI when URIs are enabled.
  const name = !memory && path.startsWith('file:') ? resolve(path) : path;
  if (!memory) {
    const dir = dirname(resolve(path));
    if (!existsSync(dir)) throw new StoreError(`cannot open ${path}: directory ${dir} does not exist`);
    if ((opts.readonly || opts.mustExist) && !existsSync(path)) throw new StoreError(`cannot open ${path}: no such file`);
    if (existsSync(path) && statSync(path).isDirectory()) throw new StoreError(`cannot open ${path}: it is a directory`);
  }
  if (opts.readonly && !memory) return openReadOnly(path, name, opts);
  let db: Database.Database;
  try {
    db = new Database(name, { readonly: opts.readonly ?? false, fileMustExist: opts.mustExist ?? false });
  } catch (e) {
    throw new StoreError(`cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    db.pragma(`busy_timeout = ${opts.busyTimeout ?? 30000}`);
    // Reading the schema makes a file that is not a database fail here, before any pragma writes.
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
    if (!opts.readonly && !tables.every((t) => OUR_TABLES.has(t)) && !holdsLog(db)) {
      throw new NotALogError(path, `${path} is a SQLite database that holds no pasid-ledger log (its tables: ${tables.slice(0, 5).join(', ')}): refusing to add one to it`);
    }
    if (!opts.readonly && !memory) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  } catch (e) {
    db.close();
    if (e instanceof StoreError || isBusy(e)) throw e;
    if ((e as { code?: string }).code === 'SQLITE_NOTADB') throw new NotALogError(path, `cannot open ${path}: ${(e as Error).message}`);
    throw new StoreError(`cannot open ${path}: ${(e as Error).message}`);
  }
  return db;
}

function openReadOnly(path: string, name: string, opts: OpenOptions): Database.Database {
  const probe = (db: Database.Database) => {
    db.pragma(`busy_timeout = ${opts.busyTimeout ?? 30000}`);
    db.pragma('query_only = ON');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  };
  const attempt = (file: string): Database.Database => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return probe(db);
    } catch (e) {
      db.close();
      throw e;
    }
  };
  try {
    return attempt(name);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB') throw new NotALogError(path, `${path} holds no pasid-ledger log: cannot open it: file is not a database`);
    if (!/^SQLITE_(READONLY|CANTOPEN)/.test(code)) throw new StoreError(`cannot open ${path}: ${(e as Error).message}`);
  }
  // A WAL database in a directory we cannot write: SQLite cannot create the -shm file.
  if (existsSync(`${path}-wal`)) {
    throw new StoreError(`cannot read ${path}: ${path}-wal holds part of the log, and SQLite needs to create ${path}-shm beside it but the directory is not writable; `
      + 'copy the log with "pasid-ledger export" (or checkpoint it with PRAGMA wal_checkpoint(TRUNCATE)) where it is written, or read it in a writable directory');
  }
  try {
    // No -wal: every committed entry is in the file itself, which nobody is changing.
    return attempt(`${pathToFileURL(resolve(path)).href}?immutable=1`);
  } catch (e) {
    throw new StoreError(`cannot read ${path}: ${(e as Error).message} (its directory is not writable; with the library, set SQLITE_USE_URI=1 so that it can be opened as immutable)`);
  }
}

/** Whether an error is SQLite's "database is busy/locked" after the busy timeout ran out. */
export function isBusy(e: unknown): boolean {
  if (e instanceof BusyError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The columns of the `entries` table a log must have (migration 0001). */
const LOG_COLUMNS = ['seq', 'entry', 'leaf', 'chain', 'at', 'type'];

/**
 * Whether an open database holds a pasid-ledger log: an `entries` table with the
 * columns of the log's schema (`seq`, `entry`, `leaf`, `chain`, `at`, `type`).
 *
 * @example
 * if (!holdsLog(db)) throw new Error('not a log');
 */
export function holdsLog(db: Database.Database): boolean {
  const cols = new Set((db.prepare("SELECT name FROM pragma_table_info('entries')").all() as Array<{ name: string }>).map((r) => r.name));
  return LOG_COLUMNS.every((c) => cols.has(c));
}
