import type BetterSqlite3 from 'better-sqlite3';
import { EntryLog } from '../store/log.js';
import { BUNDLE_FORMAT, type Bundle } from '../tlog/bundle.js';
import { parseCheckpoint } from '../tlog/checkpoint.js';
import { parseNote } from '../tlog/note.js';
import { inclusionProof } from './proofs.js';

/** Entries per bundle: enough for an incident, small enough to read. */
export const MAX_BUNDLE_ENTRIES = 100_000;

/**
 * Why a bundle was not made: bad input (`range`, `checkpoint`), a log shorter than the
 * checkpoint (`short`), or a log whose root is not the checkpoint's (`root`: a finding).
 */
export interface BundleRefusal {
  kind: 'range' | 'checkpoint' | 'short' | 'root';
  problem: string;
}

/**
 * The offline evidence for entries `from..to` (inclusive): their exact texts, each one's
 * inclusion proof in the tree of the signed checkpoint `note` (a C2SP signed note),
 * and the note itself, checkable with `verify-bundle` and no database. The log's root
 * at the checkpoint's size must be the checkpoint's. Reads in one snapshot; writes nothing.
 *
 * @returns the bundle, or why not.
 * @example
 * const b = buildBundle(db, readFileSync('host.checkpoint', 'utf8'), 120, 135);
 * if ('format' in b) writeFileSync('incident.json', JSON.stringify(b));
 */
export function buildBundle(db: BetterSqlite3.Database, note: string, from: number, to: number): Bundle | BundleRefusal {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) return { kind: 'range', problem: `--from ${from} --to ${to}: need 1 <= from <= to` };
  if (to - from + 1 > MAX_BUNDLE_ENTRIES) return { kind: 'range', problem: `at most ${MAX_BUNDLE_ENTRIES} entries per bundle` };
  const n = parseNote(note);
  if (typeof n === 'string') return { kind: 'checkpoint', problem: `not a C2SP checkpoint: ${n}` };
  const cp = parseCheckpoint(n.text);
  if (typeof cp === 'string') return { kind: 'checkpoint', problem: cp };
  if (to > cp.size) return { kind: 'range', problem: `entry ${to} is not covered by the checkpoint (size ${cp.size}): sign a newer checkpoint` };
  const log = new EntryLog(db);
  const head = log.head().seq;
  if (cp.size > head) return { kind: 'short', problem: `the checkpoint has size ${cp.size}, the log only ${head} entries (it was cut back, or this is another log)` };
  if (!log.tree.root(cp.size).equals(cp.root)) {
    return { kind: 'root', problem: `the log's root at size ${cp.size} is not the checkpoint's (the log was rewritten, or this is another log's checkpoint)` };
  }
  // One read snapshot for the texts and all their proofs.
  const entries = log.tree.snapshot(() =>
    [...log.range(from - 1, to)].map((row) => ({ seq: row.seq, entry: row.entry, proof: inclusionProof(log.tree, row.seq, cp.size).hashes })));
  return { format: BUNDLE_FORMAT, checkpoint: note, entries };
}
