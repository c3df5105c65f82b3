import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainHash, GENESIS_CHAIN, leafHash } from '../src/store/hash.js';
import { EntryLog } from '../src/store/log.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { tmpDir } from './helpers.js';

/** A copy of a closed log file, in a fresh temp dir: tampering never touches the original. */
export function copyLog(path: string, name = 'copy.db'): string {
  const to = join(tmpDir(), name);
  copyFileSync(path, to);
  return to;
}

/** A raw handle on a log with its append-only triggers dropped, as an attacker would. */
export function attacker(path: string): Database.Database {
  const db = new Database(path);
  for (const t of ['entries_no_update', 'entries_no_delete', 'entries_no_gap']) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  return db;
}

/**
 * Recomputes leaf and chain of every row from seq `from` on, from the stored texts,
 * chaining on from the row before it: a careful attacker covering an edit.
 */
export function rechain(db: Database.Database, from: number): void {
  const prev = db.prepare('SELECT chain FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT 1').get(from) as { chain: string } | undefined;
  let chain = prev?.chain ?? GENESIS_CHAIN;
  const rows = db.prepare('SELECT seq, entry FROM entries WHERE seq >= ? ORDER BY seq').all(from) as Array<{ seq: number; entry: string }>;
  const upd = db.prepare('UPDATE entries SET leaf = ?, chain = ? WHERE seq = ?');
  for (const r of rows) {
    const leaf = leafHash(r.entry);
    chain = chainHash(chain, leaf);
    upd.run(leaf, chain, r.seq);
  }
}

/** Every entry of a log, parsed, in order. */
export function readEntries(path: string): Array<Record<string, unknown>> {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT entry FROM entries ORDER BY seq').all() as Array<{ entry: string }>).map((r) => JSON.parse(r.entry));
  } finally {
    db.close();
  }
}

/**
 * A new log written below the ledger, entry by entry with `EntryLog.append`: its
 * chain, leaves and indexing columns are all correct, whatever the entries say.
 */
export async function craftLog(entries: Array<Record<string, unknown>>, name = 'crafted.db'): Promise<string> {
  const path = join(tmpDir(), name);
  const db = openDatabase(path);
  await migrateToLatest(db, path);
  const log = new EntryLog(db);
  log.immediate(() => log.append(entries.map((e, i) => ({ ...e, seq: i + 1 }))));
  db.close();
  return path;
}

/** A tampered copy of the log at `path`: `fn` gets a raw handle without the append-only triggers. */
export function tamperedCopy(path: string, fn: (db: Database.Database) => void): string {
  const copy = copyLog(path);
  const db = attacker(copy);
  fn(db);
  db.close();
  return copy;
}
