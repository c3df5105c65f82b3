import { median } from './stats.js';

/** What a figure is held to: a ratio to its ceiling, or an absolute bound. */
export type Target =
  | { kind: 'ratio'; min: number }
  | { kind: 'min'; value: number }
  | { kind: 'max'; value: number }
  | { kind: 'none' };

/** One line of the bench table (and of `--json`). */
export interface BenchRow {
  id: string;
  figure: string;
  unit: string;
  /** Median of `runs`; null when the figure could not be measured (see `note`). */
  value: number | null;
  runs: number[];
  /** Median of `ceiling_runs`: raw better-sqlite3 doing the same rows' work, same run. */
  ceiling: number | null;
  ceiling_runs: number[];
  /** value / ceiling. */
  ratio: number | null;
  target: Target;
  /** Whether the target is met; null when there is no target or no value. */
  pass: boolean | null;
  note: string;
}

/**
 * A figure measured beside its raw ceiling: ratio = median(runs) / median(ceiling runs).
 *
 * @example
 * ratioRow('batch', 'entries/s, 1000 per batch', 'entries/s', [30e3, 32e3, 31e3], [60e3, 61e3, 59e3], 0.5).ratio; // ~0.51
 */
export function ratioRow(id: string, figure: string, unit: string, runs: number[], ceilingRuns: number[], min: number, note = ''): BenchRow {
  const value = median(runs);
  const ceiling = median(ceilingRuns);
  const ratio = value / ceiling;
  return { id, figure, unit, value, runs, ceiling, ceiling_runs: ceilingRuns, ratio, target: { kind: 'ratio', min }, pass: ratio >= min, note };
}

/**
 * An absolute figure: `min` (at least) or `max` (at most), or no target.
 *
 * @example
 * absRow('memory', 'memory', 'MB RSS', [140, 150, 145], { kind: 'max', value: 300 }).pass; // true
 */
export function absRow(id: string, figure: string, unit: string, runs: number[], target: Target, note = ''): BenchRow {
  const value = median(runs);
  let pass: boolean | null = null;
  if (target.kind === 'min') pass = value >= target.value;
  if (target.kind === 'max') pass = value <= target.value;
  return { id, figure, unit, value, runs, ceiling: null, ceiling_runs: [], ratio: null, target, pass, note };
}
