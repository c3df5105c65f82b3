import { ChainStep } from '../store/chain.js';
import { emptyState, type HostState } from '../model/state.js';
import { evolve } from '../model/evolve.js';
import type { Entry, HostConfig, SnapshotEntry } from '../model/types.js';
import type { EntryLog } from '../store/log.js';
import { SnapshotStore } from '../store/snapshots.js';
import { chainHash, GENESIS_CHAIN, leafHash } from '../store/hash.js';
import { decodeState, encodeState, SNAPSHOT_FORMAT, stateDigest, whyUndecodable } from './codec.js';
import type { SnapshotRow } from '../store/snapshots.js';

/** A row whose leaf or chain does not recompute, met by a replay that checks the chain. */
export class ChainError extends Error {
  override name = 'ChainError';
  constructor(readonly seq: number, why: string) {
    super(`seq ${seq} is bad: ${why}`);
  }
}

/** The ledger takes a snapshot each time this many entries were evolved since the last one. */
export const SNAPSHOT_EVERY = 100_000;

/** `advance` reports progress every this many rows. */
const PROGRESS_EVERY = 10_000;

/** What a cache did, for progress and for tests that check snapshots are used. */
export interface CacheStats {
  /** The seq of the snapshot the last `restore` started from (0: the empty state). */
  restoredFrom: number;
  /** Rows read and evolved by `advance`. */
  rowsRead: number;
  /** Snapshots found not to match the log (or not decodable) and dropped. */
  dropped: number;
  /** Snapshots written. */
  saved: number;
}

/**
 * Why a stored snapshot must not be trusted, or null when it may be: its row's chain
 * must be the log's chain at its seq N; entry N+1 must be a `snapshot` entry of the
 * chained log (its leaf and its chain link to entry N recomputed here) with
 * `of_seq` N, this code's format, and as `digest` the SHA-256 of exactly this blob;
 * and the blob must decode (`decodeState`'s schema and invariants). The whole log's
 * chain is `verify`'s business; this binds the blob to it.
 *
 * @example
 * snapshotProblem(log, config, store.latestAtOrBefore(200_000)!); // null, or 'the log has no snapshot entry ...'
 */
export function snapshotProblem(log: EntryLog, config: HostConfig, snap: SnapshotRow): string | null {
  const unbound = bindingProblem(log, snap);
  if (unbound !== null) return unbound;
  const why = whyUndecodable(snap.state, config, snap.seq);
  return why === null ? null : `its blob does not decode: ${why}`;
}

/** `snapshotProblem` without the decoding: whether the chained log vouches for this blob. */
function bindingProblem(log: EntryLog, snap: SnapshotRow): string | null {
  const n = snap.seq;
  const row = log.row(n);
  if (!row) return `the log has no entry ${n}`;
  if (row.chain !== snap.chain) return `its chain is not the log's chain at seq ${n}`;
  const bind = log.row(n + 1);
  if (!bind) return `no snapshot entry at seq ${n + 1} vouches for it (the log ends at ${n})`;
  if (leafHash(bind.entry) !== bind.leaf || chainHash(row.chain, bind.leaf) !== bind.chain) return `entry ${n + 1} does not hash into the chain`;
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(bind.entry) as Record<string, unknown>;
  } catch {
    return `entry ${n + 1} is not JSON`;
  }
  if (e.type !== 'snapshot' || e.of_seq !== n) return `no snapshot entry at seq ${n + 1} vouches for it (written by older code, or not by the ledger)`;
  if (e.format !== SNAPSHOT_FORMAT) return `entry ${n + 1} records format ${JSON.stringify(e.format)}, this code reads ${SNAPSHOT_FORMAT}`;
  if (e.digest !== stateDigest(snap.state)) return `its blob does not hash to the digest entry ${n + 1} records (the blob was changed)`;
  return null;
}

/**
 * Replays a log with snapshots as a cache, never as the truth: a snapshot is used only
 * when the chained log vouches for its exact bytes (`snapshotProblem`). Any other is
 * skipped (and, through a cache that keeps snapshots, deleted). Only the ledger, a
 * writer, takes snapshots (`take`), each bound by a `snapshot` entry appended to the log
 * in the same transaction; a read never writes.
 *
 * @example
 * const cache = new SnapshotCache(log, config);
 * const s = cache.advance(cache.restore(5000), 5000); // the host just after entry 5000
 */
export class SnapshotCache {
  readonly snapshots: SnapshotStore;
  /** The seq of the newest snapshot restored or taken through this cache. */
  lastSeq = 0;
  readonly stats: CacheStats = { restoredFrom: 0, rowsRead: 0, dropped: 0, saved: 0 };

  /** @param keep the cache may write: delete snapshots it does not trust, and take new ones (the ledger's). */
  constructor(readonly log: EntryLog, readonly config: HostConfig, readonly keep = false) {
    this.snapshots = new SnapshotStore(log.db);
  }

  /**
   * The newest state a trusted snapshot at or before `seq` holds, or the empty state
   * (before entry 1). Snapshots that fail `snapshotProblem` on the way are skipped.
   */
  restore(seq = Number.MAX_SAFE_INTEGER): HostState {
    let limit = seq;
    for (;;) {
      const snap = this.snapshots.latestAtOrBefore(limit);
      if (!snap) break;
      const state = bindingProblem(this.log, snap) === null ? decodeState(snap.state, this.config, snap.seq) : null;
      if (state) {
        this.stats.restoredFrom = snap.seq;
        this.lastSeq = Math.max(this.lastSeq, snap.seq);
        return state;
      }
      this.stats.dropped++;
      if (this.keep) this.snapshots.delete(snap.seq);
      limit = snap.seq - 1;
    }
    this.stats.restoredFrom = 0;
    return emptyState(this.config);
  }

  /**
   * Evolves `s` with the entries after `s.seq` up to `to` (default: the end of the log).
   * Takes `s` by ownership. Writes nothing.
   */
  advance(s: HostState, to = Number.MAX_SAFE_INTEGER, onProgress?: (seq: number) => void, checkChain = false): HostState {
    // With checkChain every row's leaf and chain are recomputed as it is evolved: one
    // pass proves the entries replayed are the ones the writer hashed (from s.seq on).
    const step = new ChainStep(checkChain && s.seq > 0 ? this.log.row(s.seq)?.chain ?? GENESIS_CHAIN : GENESIS_CHAIN);
    for (const [seq, entry, leaf, chain] of this.log.rangeColumns(s.seq, to)) {
      if (checkChain) {
        if (seq !== s.seq + 1) throw new ChainError(s.seq + 1, `missing (the next row is seq ${seq})`);
        const bad = step.checkText(entry, leaf, chain);
        if (bad) throw new ChainError(seq, bad.what === 'leaf' ? 'leaf does not match the entry text' : 'chain does not follow from the previous entry');
      }
      evolve(s, JSON.parse(entry) as Entry);
      if (++this.stats.rowsRead % PROGRESS_EVERY === 0) onProgress?.(s.seq);
    }
    onProgress?.(s.seq);
    return s;
  }

  /**
   * Takes a snapshot of `s`, the state just after the log's head: in one `BEGIN
   * IMMEDIATE` transaction, appends the entry `{type: 'snapshot', of_seq, format,
   * digest}` at seq `s.seq + 1` and stores the blob at `s.seq`. Returns that entry (the
   * caller evolves it in), or null when nothing was written: a cache that does not
   * keep snapshots, a read-only or busy or full file, or a head that moved (another
   * writer: the caller catches up first, and tries again later).
   *
   * @example
   * const e = cache.take(state, new Date().toISOString());
   * if (e) evolve(state, e);
   */
  take(s: HostState, at: string): SnapshotEntry | null {
    if (!this.keep || !this.snapshots.writable || s.seq < 1) return null;
    try {
      const entry = this.log.immediate((): SnapshotEntry | null => {
        const head = this.log.head();
        if (head.seq !== s.seq) return null;
        const blob = encodeState(s);
        const e: SnapshotEntry = { seq: s.seq + 1, at, type: 'snapshot', of_seq: s.seq, format: SNAPSHOT_FORMAT, digest: stateDigest(blob) };
        this.log.append([e as unknown as Record<string, unknown>]);
        this.snapshots.insert(s.seq, head.chain, blob);
        return e;
      });
      if (entry) {
        this.stats.saved++;
        this.lastSeq = Math.max(this.lastSeq, s.seq);
      }
      return entry;
    } catch (e) {
      if (e instanceof Error && e.name === 'SqliteError') return null;
      throw e;
    }
  }
}
