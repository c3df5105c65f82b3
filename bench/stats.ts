import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Timing and statistics for the benchmark: every figure is the median of several
 * runs, so one slow run on a noisy machine does not move it.
 */

/**
 * The median of a non-empty list (the mean of the middle two for an even count).
 *
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `fn` once and returns its wall time in seconds.
 *
 * @example
 * const secs = timeIt(() => work());
 */
export function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * As `timeIt`, for async work.
 *
 * @example
 * const secs = await timeItAsync(async () => { await openLedger(path); });
 */
export async function timeItAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * A small seeded PRNG (mulberry32): every bench run draws the same workload.
 *
 * @example
 * const rnd = prng(1); rnd(); // a number in [0, 1), the same every run
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let collect: (() => void) | null = null;

/**
 * Collects the garbage now, so one figure's garbage is not collected during the next.
 * Without `--expose-gc` the flag is set at run time and `gc` fetched from a fresh context.
 *
 * @example
 * gc(); const secs = timeIt(work);
 */
export function gc(): void {
  if (!collect) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) collect = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    }
  }
  collect();
}
