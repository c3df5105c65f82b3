/**
 * The quota report of one vfio_mm (one PASID account: an mm token and its generation),
 * built while the audit streams the log.
 */

/** A change of a vfio_mm's quota: at creation and at each lazy adjust. */
export interface QuotaChange {
  seq: number;
  at: string;
  /** The quota the vfio_mm records. */
  quota: number;
  /** The limit its ioasid set enforces (differs from `quota` after a failed adjust). */
  set_quota: number;
}

/** One vfio_mm's quota report. */
export interface VfioMmReport {
  vfio_mm: number;
  mm: string;
  gen: number;
  /** The vm whose request created it (the caller of set_iommu in v1). */
  vm: string | null;
  created_seq: number;
  created_at: string;
  released_seq: number | null;
  released_at: string | null;
  quota_changes: QuotaChange[];
  /** The most PASIDs it held at once, and the first entry where it did. */
  peak_held: number;
  peak_seq: number | null;
  peak_at: string | null;
  /** Milliseconds (from the entries' `at`) during which it held as many ids as its set's quota. */
  at_quota_ms: number;
  /** How many times it reached its quota. */
  at_quota_times: number;
  /** ALLOC and FREE transitions of its PASIDs (FREEs include the reclaimed ones). */
  allocs: number;
  frees: number;
  /** Refused requests on a container charged to it (a negative ret), by recorded reason. */
  denied: Record<string, number>;
  denied_total: number;
  /** PASIDs still held when it was released, freed by the release cascade. */
  reclaimed: number;
  /** PASIDs held at the end of the log (0 once released). */
  held_at_end: number;
}

const ms = (at: string): number => {
  const t = Date.parse(at);
  return Number.isFinite(t) ? t : NaN;
};

/**
 * Accumulates one vfio_mm's report. Time at quota runs from the entry where `held`
 * reached the set's quota to the entry where it left it (or the release, or the end
 * of the log).
 *
 * @example
 * const a = new VfioMmAccount({ vfio_mm: 1, mm: '0x1000', gen: 1, vm: 'vm1', seq: 5, at: t, quota: 2 });
 * a.held(6, t1, 1, 2); a.held(7, t2, 2, 2); a.held(9, t3, 1, 2);
 * a.report(null).at_quota_ms; // t3 - t2
 */
export class VfioMmAccount {
  private readonly r: VfioMmReport;
  private quotaSince: string | null = null;

  constructor(init: { vfio_mm: number; mm: string; gen: number; vm: string | null; seq: number; at: string; quota: number; set_quota: number }) {
    this.r = {
      vfio_mm: init.vfio_mm, mm: init.mm, gen: init.gen, vm: init.vm,
      created_seq: init.seq, created_at: init.at, released_seq: null, released_at: null,
      quota_changes: [{ seq: init.seq, at: init.at, quota: init.quota, set_quota: init.set_quota }],
      peak_held: 0, peak_seq: null, peak_at: null,
      at_quota_ms: 0, at_quota_times: 0, allocs: 0, frees: 0, denied: {}, denied_total: 0, reclaimed: 0, held_at_end: 0,
    };
    this.held(init.seq, init.at, 0, init.set_quota);
  }

  get vm(): string | null {
    return this.r.vm;
  }

  /** After entry `seq` the vfio_mm holds `held` ids under a set quota of `setQuota`. */
  held(seq: number, at: string, held: number, setQuota: number): void {
    this.r.held_at_end = held;
    if (held > this.r.peak_held) {
      this.r.peak_held = held;
      this.r.peak_seq = seq;
      this.r.peak_at = at;
    }
    const atQuota = held >= setQuota;
    if (atQuota && this.quotaSince === null) {
      this.quotaSince = at;
      this.r.at_quota_times += 1;
    } else if (!atQuota) this.closeQuota(at);
  }

  quotaChange(c: QuotaChange): void {
    this.r.quota_changes.push(c);
  }

  alloc(): void {
    this.r.allocs += 1;
  }

  free(): void {
    this.r.frees += 1;
  }

  denied(reason: string): void {
    this.r.denied[reason] = (this.r.denied[reason] ?? 0) + 1;
    this.r.denied_total += 1;
  }

  released(seq: number, at: string, reclaimed: number): void {
    this.r.released_seq = seq;
    this.r.released_at = at;
    this.r.reclaimed += reclaimed;
    this.r.held_at_end = 0;
    this.closeQuota(at);
  }

  /** The report, closing a period at quota at `endAt` (the last entry's time) if one is open. */
  report(endAt: string | null): VfioMmReport {
    if (endAt !== null) this.closeQuota(endAt);
    return { ...this.r, quota_changes: [...this.r.quota_changes], denied: { ...this.r.denied } };
  }

  private closeQuota(at: string): void {
    if (this.quotaSince === null) return;
    const d = ms(at) - ms(this.quotaSince);
    if (Number.isFinite(d) && d > 0) this.r.at_quota_ms += d;
    this.quotaSince = null;
  }
}
