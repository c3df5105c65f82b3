import { openLedger } from '../../src/ledger.js';
import { absRow, type BenchRow } from '../row.js';
import { gc, timeItAsync } from '../stats.js';
import { ALL } from '../workload.js';
import type { BigLog } from '../biglog.js';
import { dropSnapshots } from './replay.js';

/** Seconds from `openLedger` to the outcome of one PASID ALLOC on a live container, then close. */
async function reopenOnce(big: BigLog): Promise<number> {
  gc();
  let ret = 1;
  const t = await timeItAsync(async () => {
    const l = await openLedger(big.path);
    ret = l.request({ op: 'pasid_alloc', container: big.liveContainer, ...ALL }).ret;
    l.close();
  });
  if (ret > 0 || ret < -200) throw new Error(`bug: the request after reopen returned ${ret}`);
  return t;
}

/**
 * Reopening the big log (synchronous=FULL, as a service would) and serving the next
 * request, in-process (module loading excluded). Two rows: with no snapshot (every
 * snapshot dropped before each run, so the ledger replays the whole log, and its
 * request then takes a snapshot), and as the ledger leaves the file (the snapshot the
 * previous run took, vouched for by its snapshot entry), which is what the target is about.
 *
 * @example
 * const [warm, cold] = await reopenRows(big, 3, console.error);
 */
export async function reopenRows(big: BigLog, runs: number, log: (s: string) => void): Promise<BenchRow[]> {
  const cold: number[] = [];
  for (let r = 0; r < runs; r++) {
    dropSnapshots(big.path);
    cold.push(await reopenOnce(big));
    log(`reopen without snapshot run ${r + 1}/${runs}: ${cold[r]!.toFixed(3)} s`);
  }
  const warm: number[] = [];
  for (let r = 0; r < runs; r++) {
    warm.push(await reopenOnce(big));
    log(`reopen run ${r + 1}/${runs}: ${warm[r]!.toFixed(3)} s`);
  }
  const n = big.entries.toLocaleString('en-US');
  return [
    absRow('reopen', `reopen a ${n}-entry log and serve the next request`, 's', warm, { kind: 'max', value: 1 },
      'openLedger + one PASID ALLOC, in-process; the state comes from the snapshot the previous close() wrote, then the entries after it'),
    absRow('reopen_cold', `reopen a ${n}-entry log with no snapshot, serve the next request`, 's', cold, { kind: 'none' },
      'every snapshot dropped first: the whole log is replayed; the request then takes a snapshot (a snapshot entry appended, the blob stored)'),
  ];
}
