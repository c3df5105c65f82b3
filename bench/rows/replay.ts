import Database from 'better-sqlite3';
import { auditLog } from '../../src/audit/audit_log.js';
import { replayTo } from '../../src/replay/replay_to.js';
import { verifyLog } from '../../src/replay/verify.js';
import { verifyReplay } from '../../src/replay/verify_replay.js';
import { EntryLog } from '../../src/store/log.js';
import { SnapshotStore } from '../../src/store/snapshots.js';
import { rawScan } from '../raw.js';
import { ratioRow, type BenchRow } from '../row.js';
import { gc, median, timeIt } from '../stats.js';

/**
 * Drops every snapshot of a log file: the replay that follows starts from entry 1.
 *
 * @example
 * dropSnapshots('/tmp/big.db'); // 1
 */
export function dropSnapshots(path: string): number {
  const db = new Database(path);
  try {
    const store = new SnapshotStore(db);
    const all = store.list();
    for (const snap of all) store.delete(snap.seq);
    return all.length;
  } finally {
    db.close();
  }
}

/** One timed pass of `fn` over the log on a fresh read-only handle: entries/s. */
function readOnce(path: string, entries: number, fn: (db: Database.Database) => void): number {
  const db = new Database(path, { readonly: true });
  try {
    gc();
    return entries / timeIt(() => fn(db));
  } finally {
    db.close();
  }
}

/** The read ceiling: raw iteration of the rows with JSON.parse, leaf and chain recomputed and compared. */
function ceilingPass(db: Database.Database, entries: number): void {
  if (rawScan(db) !== entries) throw new Error('bug: the ceiling read another number of rows');
}

/**
 * `runs` runs of a read figure, each beside a run of the ceiling, in ABBA order (the
 * ceiling first in even runs, second in odd ones) so drift on a noisy machine hits both.
 */
function paired(path: string, entries: number, runs: number, name: string, log: (s: string) => void, fn: (db: Database.Database) => void): { mine: number[]; ceil: number[] } {
  const mine: number[] = [];
  const ceil: number[] = [];
  for (let r = 0; r < runs; r++) {
    if (r % 2 === 0) ceil.push(readOnce(path, entries, (db) => ceilingPass(db, entries)));
    mine.push(readOnce(path, entries, fn));
    if (r % 2 === 1) ceil.push(readOnce(path, entries, (db) => ceilingPass(db, entries)));
    log(`${name} run ${r + 1}/${runs}: ${mine[r]!.toFixed(0)} entries/s, read ceiling ${ceil[r]!.toFixed(0)} entries/s`);
  }
  return { mine, ceil };
}

/**
 * Replay entries/s rebuilding the host from the whole log with its chain verified:
 * `replayTo` the head from entry 1 with `checkChain` (no snapshot; every row's leaf and
 * the chain recomputed and compared while it is evolved: one pass), as
 * `replay --at HEAD --check-chain` runs it. Beside it, for the record, `replayTo` without
 * the check and the full `verifyLog` (also canonical text and indexing columns).
 *
 * @example
 * replayRow(big.path, big.entries, 3, console.error).ratio;
 */
export function replayRow(path: string, entries: number, runs: number, log: (s: string) => void): BenchRow {
  dropSnapshots(path);
  const { mine, ceil } = paired(path, entries, runs, 'replay --check-chain', log, (db) => {
    const stats = { restoredFrom: -1, rowsRead: 0, dropped: 0, saved: 0 };
    const s = replayTo(db, { seq: entries }, { stats, checkChain: true });
    if (s.seq !== entries || stats.restoredFrom !== 0) throw new Error('bug: replay did not start from entry 1');
  });
  const alone: number[] = [];
  const check: number[] = [];
  for (let r = 0; r < runs; r++) {
    alone.push(readOnce(path, entries, (db) => { if (replayTo(db, { seq: entries }).seq !== entries) throw new Error('bug: replay stopped short'); }));
    check.push(readOnce(path, entries, (db) => { if (!verifyLog(db).ok) throw new Error('bug: verify failed'); }));
    log(`replay parts run ${r + 1}/${runs}: replayTo without the chain check ${alone[r]!.toFixed(0)}, verifyLog alone ${check[r]!.toFixed(0)} entries/s`);
  }
  const fmt = (xs: number[]) => Math.round(median(xs)).toLocaleString('en-US');
  return ratioRow('replay', `replay: rebuild state from ${entries.toLocaleString('en-US')} entries, chain verified`, 'entries/s', mine, ceil, 0.5,
    `replayTo from entry 1 with checkChain (one pass, no snapshot). For the record: replayTo without the check ${fmt(alone)} entries/s, `
    + `the full verifyLog (canonical text and columns too) ${fmt(check)} entries/s`);
}

/**
 * `replay --verify`: `verifyReplay` re-decides every request with today's code and compares.
 *
 * @example
 * verifyRow(big.path, big.entries, 3, console.error).ratio;
 */
export function verifyRow(path: string, entries: number, runs: number, log: (s: string) => void): BenchRow {
  const { mine, ceil } = paired(path, entries, runs, 'replay --verify', log, (db) => {
    const r = verifyReplay(db);
    if (!r.ok || r.entries !== entries) throw new Error(`bug: replay --verify failed on the bench log: ${JSON.stringify(r.mismatch)}`);
  });
  return ratioRow('replay_verify', 'replay --verify: re-decide every request', 'entries/s', mine, ceil, 0.25,
    'verifyReplay: every request re-decided from the state the log built, outcome and transitions compared');
}

/**
 * `audit` of the big log: `auditLog`, every invariant at every entry, with the quota report and quirks.
 *
 * @example
 * auditRow(big.path, big.entries, 3, console.error).ratio;
 */
export function auditRow(path: string, entries: number, runs: number, log: (s: string) => void): BenchRow {
  const { mine, ceil } = paired(path, entries, runs, 'audit', log, (db) => {
    const r = auditLog(new EntryLog(db));
    if (!r.ok || r.entries !== entries) throw new Error(`bug: the audit of the bench log failed: ${JSON.stringify(r.invariants.filter((i) => !i.holds))}`);
  });
  return ratioRow('audit', 'audit: every invariant at every entry', 'entries/s', mine, ceil, 0.25,
    'auditLog: invariants 1-8 and the structural checks at every entry (S4 recomputes every leaf and chain, S6 re-decides every request), quota report, quirks');
}
