import type { TransitionEntry } from '../model/types.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Invariant 3 kept from the log's own numbers, not from the model's: set creation takes
 * the CREATE's `quota` from capacity, a lazy adjust gives back `old_set_quota` and takes
 * `set_quota`, a release gives back the RELEASE's `set_quota`. Beside it, the quota of
 * every live set as the log last stated it. When the log is coherent,
 * `avail + sum(live quotas) = capacity` after every entry and `avail >= 0`.
 *
 * @example
 * const b = new CapacityBook(3000);
 * b.apply({ machine: 'vfio_mm', event: 'CREATE', vfio_mm: 1, quota: 1000, set_quota: 1000 } as TransitionEntry);
 * b.check(); // null: 2000 + 1000 = 3000
 */
export class CapacityBook {
  /** capacity_avail as the log's numbers make it. */
  avail: number;
  private readonly live = new Map<number, number>();
  private sumLive = 0;

  constructor(readonly capacity: number) {
    this.avail = capacity;
  }

  /** Applies one vfio_mm transition (others change no capacity). */
  apply(t: TransitionEntry): void {
    if (t.machine !== 'vfio_mm') return;
    const id = t.vfio_mm;
    const current = this.live.get(id);
    switch (t.event) {
      case 'CREATE': {
        const quota = num(t.quota) ?? 0;
        this.avail -= quota;
        this.setLive(id, num(t.set_quota) ?? quota);
        return;
      }
      case 'QUOTA_ADJUST': {
        const to = num(t.set_quota) ?? current ?? 0;
        this.avail += (num(t.old_set_quota) ?? current ?? 0) - to;
        this.setLive(id, to);
        return;
      }
      case 'RELEASE': {
        this.avail += num(t.set_quota) ?? current ?? 0;
        if (current !== undefined) {
          this.sumLive -= current;
          this.live.delete(id);
        }
        return;
      }
    }
  }

  /** What is wrong with the balance now, or null when it holds. */
  check(): string | null {
    if (this.avail < 0) return `capacity_avail would be ${this.avail}: more quota reserved than the capacity of ${this.capacity}`;
    if (this.avail + this.sumLive !== this.capacity) {
      return `capacity_avail ${this.avail} + live set quotas ${this.sumLive} = ${this.avail + this.sumLive}, not the capacity ${this.capacity}`;
    }
    return null;
  }

  private setLive(id: number, quota: number): void {
    this.sumLive += quota - (this.live.get(id) ?? 0);
    this.live.set(id, quota);
  }
}
