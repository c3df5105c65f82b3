import { emptyState, type HostState } from '../model/state.js';
import { resolvePoint, type Point } from './point.js';
import { openSource, type ReplaySource } from './source.js';
import type { CacheStats } from '../snapshot/cache.js';

/** Options of a replay. */
export interface ReplayOptions {
  /** Called after each slice of entries with the seq reached (for a progress bar). */
  onProgress?: (seq: number, target: number) => void;
  /** Filled with what the snapshot cache did (which snapshot was used, rows read). */
  stats?: CacheStats;
  /**
   * Replay from entry 1 (no snapshot) recomputing every row's leaf and chain as it is
   * evolved: the state comes only from entries the writer hashed. Throws ChainError at
   * the first row that does not recompute.
   */
  checkChain?: boolean;
}

/**
 * The host just after entry `seq`, or after the last entry at or before a time
 * (`at`, ISO-8601): replayed from the newest valid snapshot at or before that point,
 * evolving the recorded entries, as the ledger does. The state belongs to the caller.
 *
 * @throws ReplayError for a seq the log does not have, a time before it, or a file with no log.
 * @example
 * const s = replayTo(ledger, { seq: 120 });
 * viewState(s).vfio_mms; // the vfio_mms, quotas and PASIDs just after entry 120
 * replayTo(db, { at: '2026-01-01T10:42:00Z' });
 */
export function replayTo(src: ReplaySource, point: Point, opts: ReplayOptions = {}): HostState {
  const { log, config, cache } = openSource(src);
  const seq = resolvePoint(log, point);
  const start = opts.checkChain ? emptyState(config) : cache.restore(seq);
  const s = cache.advance(start, seq, opts.onProgress && ((n) => opts.onProgress!(n, seq)), opts.checkChain);
  if (opts.stats) Object.assign(opts.stats, cache.stats);
  return s;
}
