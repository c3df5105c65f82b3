import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GroupResult, Ledger } from '../ledger.js';
import type { Request } from '../model/types.js';
import type { CommitInfo } from './committer.js';

/**
 * The server's Prometheus metrics (`GET /metrics`), on a registry of its own: requests
 * by op, ret and reason; the host's capacity_avail and each vfio_mm's held PASIDs and
 * quota (read from the state at scrape time); commit batch size and latency; head seq.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'ret' | 'reason'>;
  private readonly refused: Counter<'why'>;
  private readonly batch: Histogram;
  private readonly latency: Histogram;
  private readonly failed: Counter;

  constructor(ledger: Ledger) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'pasid_ledger_requests_total', help: 'Requests committed through the server, by op, ret (0, "pasid" for a v7 ALLOC\'s PASID, or the negative errno) and recorded reason',
      labelNames: ['op', 'ret', 'reason'], registers,
    });
    this.refused = new Counter({ name: 'pasid_ledger_refused_total', help: 'HTTP requests refused before the log (400 invalid, 401, 403 forbidden, 413, 503)', labelNames: ['why'], registers });
    this.batch = new Histogram({ name: 'pasid_ledger_commit_batch_size', help: 'Requests per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024], registers });
    this.latency = new Histogram({ name: 'pasid_ledger_commit_seconds', help: 'Time of one group commit (decide, append, fsync)', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers });
    this.failed = new Counter({ name: 'pasid_ledger_commit_failures_total', help: 'Group commits that failed (answered 503, nothing written)', registers });
    new Gauge({
      name: 'pasid_ledger_capacity_avail', help: 'PASIDs the host can still reserve for new vfio_mms', registers,
      collect() { this.set(ledger.capacityAvail); },
    });
    new Gauge({
      name: 'pasid_ledger_head_seq', help: 'The seq of the last entry of the log', registers,
      collect() { this.set(ledger.head().seq); },
    });
    new Gauge({
      name: 'pasid_ledger_vfio_mm_held', help: 'PASIDs each live vfio_mm holds', labelNames: ['vfio_mm', 'mm'], registers,
      collect() {
        this.reset();
        for (const m of ledger.state.vfioMms.values()) this.set({ vfio_mm: String(m.vfio_mm), mm: m.mm }, m.pasids.size);
      },
    });
    new Gauge({
      name: 'pasid_ledger_vfio_mm_quota', help: 'The PASID quota of each live vfio_mm', labelNames: ['vfio_mm', 'mm'], registers,
      collect() {
        this.reset();
        for (const m of ledger.state.vfioMms.values()) this.set({ vfio_mm: String(m.vfio_mm), mm: m.mm }, m.quota);
      },
    });
  }

  /** Records one group commit and the outcomes it committed. */
  commit(info: CommitInfo, items: ReadonlyArray<{ reqs: readonly unknown[] }>, results: GroupResult[] | null): void {
    if (!info.ok || !results) {
      this.failed.inc();
      return;
    }
    this.batch.observe(info.requests);
    this.latency.observe(info.seconds);
    results.forEach((r, i) => {
      if (!r.ok) return;
      const reqs = items[i]!.reqs as Request[];
      r.outcomes.forEach((o, j) => {
        if (o.replayed) return;
        this.requests.inc({ op: reqs[j]!.op, ret: o.ret > 0 ? 'pasid' : String(o.ret), reason: o.reason ?? '' });
      });
    });
  }

  refuse(why: string): void {
    this.refused.inc({ why });
  }
}
