import { deniedReason } from '../audit/denial.js';
import { HeldSeries, type SeriesPoint } from '../audit/series.js';
import type { HostState } from '../model/state.js';
import type { Entry } from '../model/types.js';

/** The explorer's charts, bucketed over the log's positions (seq 1..N) like the audit's series. */
export interface ChartsView {
  /** Entries the charts cover (the head when they were built). */
  total: number;
  /** The last seq and its `at` of each bucket. */
  seq: number[];
  at: string[];
  /** PASIDs held (most in the bucket) and set quota per vm. */
  held: Array<{ vm: string; points: SeriesPoint[] }>;
  /** capacity_avail at the end of each bucket, and the least it was in the bucket. */
  capacity_avail: number[];
  capacity_min: number[];
  capacity: number;
  /** Requests refused in each bucket, by reason. */
  denials: Array<{ reason: string; counts: number[] }>;
}

/**
 * Folds the charts of an explorer from the states a `StateIndex` passes while it builds:
 * PASIDs held per vm (the audit's `HeldSeries`), capacity left, denials by reason.
 * Memory is bounded by buckets x (vms + reasons), whatever the log's length.
 *
 * @example
 * const c = new ExploreCharts(head, capacity);
 * index.onBuild = (s, e) => c.entry(s, e);
 */
export class ExploreCharts {
  private readonly series: HeldSeries;
  private readonly capEnd: Float64Array;
  private readonly capMin: Float64Array;
  private readonly denials = new Map<string, Uint32Array>();
  private readonly vmOfMm = new Map<string, string>();

  constructor(readonly total: number, readonly capacity: number, maxPoints = 600) {
    this.series = new HeldSeries(Math.max(1, total), maxPoints);
    this.capEnd = new Float64Array(this.series.buckets).fill(-1);
    this.capMin = new Float64Array(this.series.buckets).fill(Number.POSITIVE_INFINITY);
  }

  /** Folds in entry `e`, with `s` the host just after it. */
  entry(s: HostState, e: Entry): void {
    const b = this.series.bucketOf(e.seq);
    this.series.mark(e.seq, e.at);
    this.capEnd[b] = s.capacityAvail;
    if (s.capacityAvail < this.capMin[b]!) this.capMin[b] = s.capacityAvail;
    if (e.type === 'request') {
      const why = deniedReason(e);
      if (why !== null) {
        let counts = this.denials.get(why);
        if (!counts) this.denials.set(why, (counts = new Uint32Array(this.series.buckets)));
        counts[b]! += 1;
      }
      return;
    }
    if (e.type !== 'transition') return;
    if (e.machine === 'vm' && typeof e.vm === 'string' && typeof e.mm === 'string') this.vmOfMm.set(e.mm, e.vm);
    if ((e.machine !== 'pasid' && e.machine !== 'vfio_mm') || typeof e.mm !== 'string') return;
    const vm = this.vmOfMm.get(e.mm);
    if (vm === undefined) return;
    const live = s.liveByMm.get(e.mm);
    const m = live === undefined ? undefined : s.vfioMms.get(live);
    this.series.update(vm, e.seq, m ? m.pasids.size : 0, m ? m.set_quota : 0);
  }

  /** The charts as plain data. */
  view(): ChartsView {
    const vms = this.series.vms();
    const first = vms.length > 0 ? this.series.points(vms[0]!) : new HeldSeries(1, 1).points('');
    let cap = this.capacity;
    const capacityAvail: number[] = [];
    const capacityMin: number[] = [];
    for (let b = 0; b < this.series.buckets; b++) {
      if (this.capEnd[b]! >= 0) cap = this.capEnd[b]!;
      capacityAvail.push(cap);
      capacityMin.push(Number.isFinite(this.capMin[b]!) ? this.capMin[b]! : cap);
    }
    return {
      total: this.total,
      seq: first.map((p) => p.seq),
      at: first.map((p) => p.at),
      held: vms.map((vm) => ({ vm, points: this.series.points(vm) })),
      capacity_avail: capacityAvail,
      capacity_min: capacityMin,
      capacity: this.capacity,
      denials: [...this.denials].map(([reason, counts]) => ({ reason, counts: [...counts] })).sort((a, b) => a.reason.localeCompare(b.reason)),
    };
  }
}
