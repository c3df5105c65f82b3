import { emptyState, type HostState } from '../model/state.js';
import { evolve } from '../model/evolve.js';
import type { Entry, HostConfig } from '../model/types.js';
import type { EntryLog } from '../store/log.js';
import { SnapshotStore } from '../store/snapshots.js';
import { chainHash, GENESIS_CHAIN, leafHash } from '../store/hash.js';
import { decodeState, encodeState } from './codec.js';

/** A row whose leaf or chain does not recompute, met by a replay that checks the chain. */
export class ChainError extends Error {
  override name = 'ChainError';
  constructor(readonly seq: number, why: string) {
    super(`seq ${seq} is bad: ${why}`);
  }
}

/** A snapshot is written each time a replay passes a multiple of this many entries. */
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
 * Replays a log with snapshots as a cache, never as the truth: a snapshot is used
 * only when the log's chain at its seq is the chain it was taken at (so every entry
 * up to it is the one it was computed from) and its blob decodes into today's state
 * shape; any other is dropped, and the replay past its seq writes a fresh one.
 *
 * @example
 * const cache = new SnapshotCache(log, config);
 * const s = cache.advance(cache.restore(5000), 5000); // the host just after entry 5000
 */
export class SnapshotCache {
  readonly snapshots: SnapshotStore;
  /** The seq of the newest snapshot restored or written through this cache. */
  lastSeq = 0;
  readonly stats: CacheStats = { restoredFrom: 0, rowsRead: 0, dropped: 0, saved: 0 };

  constructor(readonly log: EntryLog, readonly config: HostConfig, readonly every = SNAPSHOT_EVERY) {
    this.snapshots = new SnapshotStore(log.db);
  }

  /**
   * The newest state a valid snapshot at or before `seq` holds, or the empty state
   * (before entry 1). Snapshots that fail the checks on the way are dropped.
   */
  restore(seq = Number.MAX_SAFE_INTEGER): HostState {
    let limit = seq;
    for (;;) {
      const snap = this.snapshots.latestAtOrBefore(limit);
      if (!snap) break;
      const row = this.log.row(snap.seq);
      const state = row && row.chain === snap.chain ? decodeState(snap.state, this.config, snap.seq) : null;
      if (state) {
        this.stats.restoredFrom = snap.seq;
        this.lastSeq = Math.max(this.lastSeq, snap.seq);
        return state;
      }
      this.stats.dropped++;
      this.snapshots.delete(snap.seq);
      limit = snap.seq - 1;
    }
    this.stats.restoredFrom = 0;
    return emptyState(this.config);
  }

  /**
   * Evolves `s` with the entries after `s.seq` up to `to` (default: the end of the log),
   * writing a snapshot at each multiple of `every` it passes. Takes `s` by ownership.
   * Reads in slices that end at those multiples: a write is not possible on the
   * handle while a read is still iterating.
   */
  advance(s: HostState, to = Number.MAX_SAFE_INTEGER, onProgress?: (seq: number) => void, checkChain = false): HostState {
    // With checkChain every row's leaf and chain are recomputed as it is evolved: one
    // pass proves the entries replayed are the ones the writer hashed (from s.seq on).
    let prev = checkChain ? (s.seq === 0 ? GENESIS_CHAIN : this.log.row(s.seq)?.chain ?? GENESIS_CHAIN) : '';
    while (s.seq < to) {
      const boundary = (Math.floor(s.seq / this.every) + 1) * this.every;
      const end = Math.min(to, boundary);
      let chain: string | null = null;
      const before = s.seq;
      for (const row of this.log.range(s.seq, end)) {
        if (checkChain) {
          if (row.seq !== s.seq + 1) throw new ChainError(s.seq + 1, `missing (the next row is seq ${row.seq})`);
          const leaf = leafHash(row.entry);
          if (leaf !== row.leaf) throw new ChainError(row.seq, 'leaf does not match the entry text');
          prev = chainHash(prev, leaf);
          if (prev !== row.chain) throw new ChainError(row.seq, 'chain does not follow from the previous entry');
        }
        evolve(s, JSON.parse(row.entry) as Entry);
        chain = row.chain;
        if (++this.stats.rowsRead % PROGRESS_EVERY === 0) onProgress?.(s.seq);
      }
      if (s.seq === before) break; // the log ends here
      onProgress?.(s.seq);
      if (s.seq === boundary && chain !== null) this.write(s, chain);
      if (s.seq < end) break; // the log ended inside the slice
    }
    return s;
  }

  /** Writes a snapshot of `s` (at `s.seq`, with the log's chain there). False when the cache is not writable. */
  save(s: HostState): boolean {
    const row = s.seq > 0 ? this.log.row(s.seq) : undefined;
    return row ? this.write(s, row.chain) : false;
  }

  private write(s: HostState, chain: string): boolean {
    if (!this.snapshots.writable) return false;
    const ok = this.snapshots.save(s.seq, chain, encodeState(s));
    if (ok) {
      this.stats.saved++;
      this.lastSeq = Math.max(this.lastSeq, s.seq);
    }
    return ok;
  }
}
