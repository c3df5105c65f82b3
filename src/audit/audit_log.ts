import type { Entry } from '../model/types.js';
import type { EntryLog } from '../store/log.js';
import { StoreError } from '../store/open.js';
import { Auditor, configOf, type AuditorOptions } from './auditor.js';
import type { AuditReport } from './report.js';

/** Options of {@link auditLog}. */
export interface AuditOptions extends AuditorOptions {
  /** Called after each chunk with the number of entries read so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Entries read per chunk (bounded memory). Default 4096. */
  chunk?: number;
  /** Skip recomputing every row's leaf and chain (check S4); the report then says `chain_checked: false`. */
  noVerify?: boolean;
}

/**
 * Audits a log from its first entry to its head as this call starts: every invariant of
 * docs/kernel-behaviour.md section 8 at every position, the quota report per vm and vfio_mm, and the
 * kernel quirks hit; the hash chain of every row (unless `noVerify`); each request
 * re-decided against the state before it (S6); clock order (S5); snapshot digests (S7). Streams the log in chunks (entries written meanwhile by another
 * process are left for the next audit).
 *
 * @throws StoreError when the log is empty or entry 1 is not a configuration (the log
 * cannot be replayed under an unknown configuration).
 * @example
 * const report = auditLog(new EntryLog(db));
 * report.ok;                              // every invariant held
 * report.invariants.filter((i) => !i.holds).map((i) => [i.id, i.first!.seq]);
 */
export function auditLog(log: EntryLog, opts: AuditOptions = {}): AuditReport {
  const head = log.head();
  const first = log.row(1);
  if (!first) throw new StoreError('the log is empty: nothing to audit');
  let config;
  try {
    config = configOf(JSON.parse(first.entry));
  } catch {
    config = null;
  }
  if (!config) throw new StoreError('entry 1 of the log is not a configuration entry: the log cannot be audited');
  const lookup = (seq: number): Entry | undefined => {
    const row = log.row(seq);
    if (!row) return undefined;
    try {
      return JSON.parse(row.entry) as Entry;
    } catch {
      return undefined;
    }
  };
  const auditor = new Auditor(config, head.seq, lookup, opts);
  const chunk = Math.max(1, opts.chunk ?? 4096);
  // One object carries each row's hashes to the auditor, which reads them before the next row.
  const hashes = { leaf: '', chain: '' };
  for (let from = 0; from < head.seq; from += chunk) {
    // A chunk is read whole before it is audited: the connection is free for `lookup` meanwhile.
    const rows = log.rangeColumnsAll(from, Math.min(head.seq, from + chunk));
    for (const [seq, entry, leaf, chain] of rows) {
      hashes.leaf = leaf;
      hashes.chain = chain;
      auditor.entry(seq, entry, opts.noVerify ? undefined : hashes);
    }
    opts.onProgress?.(Math.min(head.seq, from + chunk), head.seq);
  }
  return auditor.report(head);
}
