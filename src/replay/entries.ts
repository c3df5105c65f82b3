import type BetterSqlite3 from 'better-sqlite3';

import { kyselyOver } from '../store/query.js';
import type { Entry } from '../model/types.js';

/** Which entries to read: every filter narrows. */
export interface EntryFilter {
  /** Entries of this vm: its requests, the transitions they caused, and its own vm transitions. */
  vm?: string;
  /** Entries naming this PASID: requests that handed it out or named it, and its transitions. */
  pasid?: number;
  /** Entries naming this mm token (vm starts and vfio_mm / PASID transitions). */
  mm?: string;
  /** Entries naming this container. */
  container?: string;
  /** Only this entry type: `config`, `request` or `transition`. */
  type?: string;
  /** First seq, inclusive. */
  from?: number;
  /** Last seq, inclusive. */
  to?: number;
  /** At most this many entries. */
  limit?: number;
}

/**
 * Reads entries through the indexing columns (kysely: this is the read side).
 *
 * @example
 * await queryEntries(db, { vm: 'vm1', limit: 20 }); // the first 20 entries about vm1, in order
 */
export async function queryEntries(db: BetterSqlite3.Database, f: EntryFilter = {}): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of streamEntries(db, f)) out.push(e);
  return out;
}

/**
 * The same entries, one at a time: a long log is never held in memory.
 *
 * @example
 * for await (const e of streamEntries(db, { pasid: 7 })) console.log(e.seq);
 */
export async function* streamEntries(db: BetterSqlite3.Database, f: EntryFilter = {}): AsyncGenerator<Entry> {
  const { k } = await kyselyOver(db);
  let q = k.selectFrom('entries').select('entry').orderBy('seq');
  if (f.vm !== undefined) {
    const vm = f.vm;
    q = q.where((eb) => eb.or([
      eb('vm', '=', vm),
      eb('cause', 'in', eb.selectFrom('entries').select('seq').where('vm', '=', vm).where('type', '=', 'request')),
    ]));
  }
  if (f.pasid !== undefined) q = q.where('pasid', '=', f.pasid);
  if (f.mm !== undefined) q = q.where('mm', '=', f.mm);
  if (f.container !== undefined) q = q.where('container', '=', f.container);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.from !== undefined) q = q.where('seq', '>=', f.from);
  if (f.to !== undefined) q = q.where('seq', '<=', f.to);
  if (f.limit !== undefined) q = q.limit(f.limit);
  for await (const r of q.stream()) yield JSON.parse(r.entry) as Entry;
}
