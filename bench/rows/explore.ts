import Database from 'better-sqlite3';
import { createExploreApi } from '../../src/explore/api.js';
import { viewState } from '../../src/model/view.js';
import { replayTo } from '../../src/replay/replay_to.js';
import { absRow, type BenchRow } from '../row.js';
import { median, prng, timeIt } from '../stats.js';

/**
 * The incident explorer on the big log: the host at a random seq as the `api/state`
 * route computes it (one in-memory state decoded, at most STATE_EVERY entries evolved,
 * the view built), over `samples` seeded random seqs; beside it, in the note, the same
 * question asked the CLI's way (`replayTo` from the on-disk snapshots, every 100,000).
 * A second row: the start-up pass that keeps the states and folds the charts.
 *
 * @example
 * const [state, startup] = await exploreRows(big.path, big.entries, 30, console.error);
 */
export async function exploreRows(path: string, entries: number, samples: number, log: (s: string) => void): Promise<BenchRow[]> {
  const db = new Database(path, { readonly: true });
  try {
    const startup: number[] = [];
    let api = createExploreApi(db);
    await api.ready;
    startup.push(api.startupMs / 1000);
    for (let r = 1; r < 3; r++) {
      api = createExploreApi(db);
      await api.ready;
      startup.push(api.startupMs / 1000);
    }
    log(`explore start-up: ${startup.map((s) => s.toFixed(2)).join(', ')} s`);
    const rand = prng(0xe1);
    const seqs = Array.from({ length: samples }, () => 1 + Math.floor(rand() * entries));
    const ms: number[] = [];
    for (const seq of seqs) ms.push(timeIt(() => void viewState(api.index.at(seq))) * 1000);
    const cli: number[] = [];
    for (const seq of seqs.slice(0, Math.min(5, samples))) cli.push(timeIt(() => void viewState(replayTo(db, { seq }))) * 1000);
    const sorted = [...ms].sort((a, b) => a - b);
    const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
    log(`explore state: median ${median(ms).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms; replayTo ${median(cli).toFixed(1)} ms`);
    const n = entries.toLocaleString('en-US');
    return [
      absRow('explore_state', `explorer: the host at a random seq of a ${n}-entry log`, 'ms', ms, { kind: 'max', value: 100 },
        `${samples} seeded random seqs, the api/state route's work (an in-memory state every ${api.index.every.toLocaleString('en-US')} entries, then replay); p95 ${p95.toFixed(1)} ms; the CLI's replayTo from on-disk snapshots: median ${median(cli).toFixed(1)} ms`),
      absRow('explore_startup', `explorer start-up on a ${n}-entry log (states and charts)`, 's', startup, { kind: 'none' },
        `one pass over the log, in slices between requests (the server answers from the start): a state kept every ${api.index.every.toLocaleString('en-US')} entries, the charts folded`),
    ];
  } finally {
    db.close();
  }
}
