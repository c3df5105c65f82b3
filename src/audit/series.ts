/**
 * PASIDs held and quota per vm over the log, in constant memory: the log's positions
 * (seq 1..N) are cut into at most `maxPoints` buckets of consecutive entries, and each
 * vm keeps, per bucket, the most it held, what it held and its quota at the bucket's
 * end. A short log gets one bucket per entry, so nothing is lost; a long one keeps its
 * peaks (the most held in a bucket) whatever its length.
 */

/** One bucket of one vm's series. */
export interface SeriesPoint {
  /** The last seq of the bucket. */
  seq: number;
  /** The `at` of that entry. */
  at: string;
  /** PASIDs held at the bucket's end. */
  held: number;
  /** The most held at any entry of the bucket. */
  held_max: number;
  /** The sum of the set quotas of the vm's live vfio_mms at the bucket's end. */
  quota: number;
}

interface Track {
  heldMax: Int32Array;
  heldEnd: Int32Array;
  quotaEnd: Int32Array;
  /** What the vm held after its last update. */
  last: number;
}

/**
 * @example
 * const s = new HeldSeries(10, 1000);   // a 10-entry log: one bucket per entry
 * s.mark(3, '2026-01-01T00:00:03Z');
 * s.update('vm1', 3, 1, 4);            // after seq 3 vm1 holds 1 of 4
 * s.points('vm1')[2];                  // { seq: 3, at: '...', held: 1, held_max: 1, quota: 4 }
 */
export class HeldSeries {
  readonly buckets: number;
  private readonly lastSeq: Int32Array;
  private readonly lastAt: string[];
  private readonly tracks = new Map<string, Track>();

  constructor(readonly total: number, maxPoints = 1000) {
    this.buckets = Math.max(1, Math.min(total, maxPoints));
    this.lastSeq = new Int32Array(this.buckets);
    this.lastAt = new Array<string>(this.buckets).fill('');
  }

  /** The bucket of a seq. */
  bucketOf(seq: number): number {
    const b = Math.floor(((seq - 1) * this.buckets) / Math.max(1, this.total));
    return Math.min(this.buckets - 1, Math.max(0, b));
  }

  /** Records that entry `seq` (at `at`) was read: the bucket ends at least there. */
  mark(seq: number, at: string): void {
    const b = this.bucketOf(seq);
    if (seq >= this.lastSeq[b]!) {
      this.lastSeq[b] = seq;
      this.lastAt[b] = at;
    }
  }

  /** A vm holds `held` with quota `quota` just after entry `seq`. */
  update(vm: string, seq: number, held: number, quota: number): void {
    let t = this.tracks.get(vm);
    if (!t) {
      t = { heldMax: new Int32Array(this.buckets).fill(-1), heldEnd: new Int32Array(this.buckets).fill(-1), quotaEnd: new Int32Array(this.buckets).fill(-1), last: 0 };
      this.tracks.set(vm, t);
    }
    const b = this.bucketOf(seq);
    // The entries of the bucket before this one still saw what the vm held before.
    if (t.heldMax[b] === -1 && seq > this.firstSeqOf(b)) t.heldMax[b] = t.last;
    t.heldMax[b] = Math.max(t.heldMax[b]!, held);
    t.last = held;
    t.heldEnd[b] = held;
    t.quotaEnd[b] = quota;
  }

  /** The vms that have a series, in first-seen order. */
  vms(): string[] {
    return [...this.tracks.keys()];
  }

  /** A vm's points, one per bucket; before its first update it held 0 with quota 0. */
  points(vm: string): SeriesPoint[] {
    const t = this.tracks.get(vm);
    const out: SeriesPoint[] = [];
    let held = 0;
    let quota = 0;
    let seq = 0;
    let at = '';
    for (let b = 0; b < this.buckets; b++) {
      const max = t ? t.heldMax[b]! : -1;
      // A bucket where the vm did not change carries its previous values.
      if (t && t.heldEnd[b]! >= 0) {
        held = t.heldEnd[b]!;
        quota = t.quotaEnd[b]!;
      }
      if (this.lastSeq[b]! > 0) {
        seq = this.lastSeq[b]!;
        at = this.lastAt[b]!;
      }
      out.push({ seq, at, held, held_max: max >= 0 ? max : held, quota });
    }
    return out;
  }

  /** The first seq that falls in bucket b. */
  private firstSeqOf(b: number): number {
    return Math.ceil((b * Math.max(1, this.total)) / this.buckets) + 1;
  }
}
