import { openLedger } from '../src/ledger.js';
import { timeIt } from './stats.js';
import { PasidWorkload } from './workload.js';

/** What `buildBigLog` wrote. */
export interface BigLog {
  path: string;
  entries: number;
  requests: number;
  seconds: number;
  /** A container that is open with its IOMMU set at the end of the log (for the reopen figure). */
  liveContainer: string;
}

/**
 * Writes a log of at least `target` entries with `ledger.batch` (1000 requests per
 * transaction) and `synchronous=NORMAL`, to save time: 256 vms allocating and
 * freeing PASIDs within their quota of 1000, and now and then a vm exiting (with its
 * teardown cascade) and starting again.
 *
 * @example
 * const big = await buildBigLog('/tmp/x/big.db', 1_000_000);
 */
export async function buildBigLog(path: string, target: number): Promise<BigLog> {
  const w = new PasidWorkload({ vms: 256, quota: 1000, seed: 0xb16, allocBias: 0.6, churn: 0.05 });
  const l = await openLedger(path, { synchronous: 'NORMAL', pasid_quota: 1000 });
  let requests = 0;
  const seconds = timeIt(() => {
    const setup = w.setup();
    l.batch(setup);
    requests += setup.length;
    while (l.head().seq < target) {
      const reqs = w.batch(1000);
      w.feed(reqs, l.batch(reqs));
      requests += reqs.length;
    }
  });
  const liveContainer = w.containerOf(0);
  l.close();
  // close() may take a snapshot (one more entry): count the log as it is left.
  const again = await openLedger(path, { readonly: true });
  const entries = again.head().seq;
  again.close();
  return { path, entries, requests, seconds, liveContainer };
}
