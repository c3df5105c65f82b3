/**
 * The kernel quirks the audit flags (docs/kernel-behaviour.md sections 2 to 4, and the guest's view of
 * sections 6 and 7): behaviour the kernel really has, which the model reproduces. A quirk is not a broken invariant and does
 * not fail the audit; an auditor wants to know each time one was hit.
 */

/** The quirks, with what each means. */
export const QUIRK_KINDS = Object.freeze({
  pasid_zero: 'PASID 0 (the RID_PASID) was allocated to a set: under v1 the ALLOC failed with -EFAULT but the id stays held until the set is destroyed; v7 hands it out (ret 0) to a request asking min 0',
  pasid_above_width: 'a PASID above the pasid_bits width was handed out: the ioctl does not check max against the width',
  quota_adjust_failed: 'a lazy pasid_quota adjust failed: the vfio_mm records the new quota, the set keeps its old limit and is never retried',
  mm_reused: 'a vm started with the mm token of a live vfio_mm: its containers will share that account',
  no_vfio_mm: 'VFIO_SET_IOMMU succeeded without a vfio_mm (capacity exhausted): later ALLOCs on the container fail -EFAULT, FREEs -EINVAL',
  pasid_enable_dropped: 'guest tried to enable PASID on a read-only capability: vfio-pci (PASID capability exposed) dropped the write and reported success, so the guest believes PASID is enabled',
  hidden_pasid_cap_raw_write: 'a guest write reached the bytes of a hidden PASID capability: vfio-pci leaves them unclaimed and writes them raw to the hardware (mainline)',
  pasid_reqs_without_vfio_mm: 'GET_INFO reported VFIO_IOMMU_PASID_REQS for a NESTING container without a vfio_mm (v1 decides by type alone): its ALLOCs fail -EFAULT',
} as const);

export type QuirkKind = keyof typeof QUIRK_KINDS;

/** One time a quirk was hit. */
export interface QuirkHit {
  kind: QuirkKind;
  /** The entry that shows it: the ALLOC or QUOTA_ADJUST transition, or the request. */
  seq: number;
  /** The request behind it (the transition's cause, or `seq` itself for a request). */
  request: number;
  at: string;
  vm?: string;
  mm?: string;
  vfio_mm?: number;
  pasid?: number;
  /** The PCI function, for a config-space quirk. */
  bdf?: string;
  detail: string;
}

/** Quirk hits with a total per kind; only the first `limit` hits are kept one by one. */
export interface QuirkSummary {
  counts: Record<QuirkKind, number>;
  hits: QuirkHit[];
  /** True when more hits happened than are listed (the counts are complete). */
  truncated: boolean;
}

/**
 * Collects quirk hits in bounded memory.
 *
 * @example
 * const q = new QuirkLog(100);
 * q.hit({ kind: 'pasid_zero', seq: 9, request: 8, at: 't', pasid: 0, detail: '...' });
 * q.summary().counts.pasid_zero; // 1
 */
export class QuirkLog {
  private readonly counts = Object.fromEntries(Object.keys(QUIRK_KINDS).map((k) => [k, 0])) as Record<QuirkKind, number>;
  private readonly hits: QuirkHit[] = [];
  private dropped = false;

  constructor(private readonly limit = 1000) {}

  hit(h: QuirkHit): void {
    this.counts[h.kind] += 1;
    if (this.hits.length < this.limit) this.hits.push(h);
    else this.dropped = true;
  }

  summary(): QuirkSummary {
    return { counts: { ...this.counts }, hits: [...this.hits], truncated: this.dropped };
  }
}
