import type { SeriesPoint } from './series.js';

/** One vm's part of the report. */
export interface VmReport {
  vm: string;
  /** The mm tokens it started with (a vm id may start again as a new process). */
  mms: string[];
  starts: number;
  /**
   * Requests it issued (the resolved caller), and those refused, by recorded reason: a
   * negative ret, or a guest virtual command whose response reports a failure.
   */
  requests: number;
  denials: number;
  denied: Record<string, number>;
  /** The vfio_mms its requests created. */
  vfio_mms: number[];
  /** The most PASIDs its vfio_mms held at once, and the first entry where they did. */
  peak_held: number;
  peak_seq: number | null;
  peak_at: string | null;
  held_at_end: number;
  /** PASIDs of its vfio_mms reclaimed at teardown. */
  reclaimed: number;
  /** PASIDs held and quota over the log (bucketed: see `HeldSeries`). */
  series: SeriesPoint[];
}

/**
 * Accumulates one vm's counts; the series lives in `HeldSeries`.
 *
 * @example
 * const a = new VmAccount('vm1');
 * a.request('quota_exhausted');
 * a.report([]).denied; // { quota_exhausted: 1 }
 */
export class VmAccount {
  private readonly r: Omit<VmReport, 'series'>;
  /** Its live vfio_mms: what it holds is their sum. */
  readonly live = new Set<number>();

  constructor(vm: string) {
    this.r = { vm, mms: [], starts: 0, requests: 0, denials: 0, denied: {}, vfio_mms: [], peak_held: 0, peak_seq: null, peak_at: null, held_at_end: 0, reclaimed: 0 };
  }

  get vm(): string {
    return this.r.vm;
  }

  started(mm: string): void {
    this.r.starts += 1;
    if (!this.r.mms.includes(mm)) this.r.mms.push(mm);
  }

  /** A request it issued, and the reason it was refused (null when it was not). */
  request(denied: string | null): void {
    this.r.requests += 1;
    if (denied !== null) {
      this.r.denials += 1;
      this.r.denied[denied] = (this.r.denied[denied] ?? 0) + 1;
    }
  }

  created(vfioMm: number): void {
    this.r.vfio_mms.push(vfioMm);
    this.live.add(vfioMm);
  }

  released(vfioMm: number, reclaimed: number): void {
    this.live.delete(vfioMm);
    this.r.reclaimed += reclaimed;
  }

  held(seq: number, at: string, held: number): void {
    this.r.held_at_end = held;
    if (held > this.r.peak_held) {
      this.r.peak_held = held;
      this.r.peak_seq = seq;
      this.r.peak_at = at;
    }
  }

  report(series: SeriesPoint[]): VmReport {
    return { ...this.r, mms: [...this.r.mms], denied: { ...this.r.denied }, vfio_mms: [...this.r.vfio_mms], series };
  }
}
