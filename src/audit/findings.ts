import { INVARIANTS, type InvariantDef } from './invariants.js';

/** One entry that breaks an invariant. */
export interface Finding {
  seq: number;
  at: string | null;
  /** One sentence saying what is wrong at that entry. */
  detail: string;
}

/** The verdict on one invariant over the whole log. */
export interface InvariantResult extends InvariantDef {
  holds: boolean;
  /** How many entries broke it (each counted once per invariant). */
  violations: number;
  /** The first entry that broke it, or null when it holds. */
  first: Finding | null;
}

/**
 * The audit's verdicts, in constant memory: for each invariant the first entry that
 * broke it and how many did. Later breaks of an invariant can be consequences of the
 * first (the state then follows what the log says, wrong or not), so only the first is
 * named.
 *
 * @example
 * const f = new FindingLog();
 * f.report('7', { seq: 12, at: null, detail: 'ALLOC handed out 5, the lowest free id was 1' });
 * f.results().find((r) => r.id === '7')!.first!.seq; // 12
 */
export class FindingLog {
  private readonly first = new Map<string, Finding>();
  private readonly counts = new Map<string, number>();
  /** The last seq counted per invariant: an entry breaking one invariant twice counts once. */
  private readonly lastSeq = new Map<string, number>();

  report(id: string, f: Finding): void {
    if (this.lastSeq.get(id) === f.seq) return;
    this.lastSeq.set(id, f.seq);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    // A check decided at the end of a request may report an earlier entry than one already seen.
    const prior = this.first.get(id);
    if (prior === undefined || f.seq < prior.seq) this.first.set(id, f);
  }

  /** Whether every invariant held. */
  get ok(): boolean {
    return this.first.size === 0;
  }

  /** One result per invariant of the catalogue, in its order. */
  results(): InvariantResult[] {
    return INVARIANTS.map((def) => {
      const first = this.first.get(def.id) ?? null;
      return { ...def, holds: first === null, violations: this.counts.get(def.id) ?? 0, first };
    });
  }
}
