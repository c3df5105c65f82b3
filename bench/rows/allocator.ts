import { IdAllocator } from '../../src/model/allocator.js';
import { absRow, type BenchRow } from '../row.js';
import { gc, prng, timeIt } from '../stats.js';

/** Seconds to fill every id of [1, max] with lowest-free allocations. */
function fill(max: number): number {
  const a = new IdAllocator();
  const secs = timeIt(() => {
    for (let i = 1; i <= max; i++) a.allocLowest(1, max);
  });
  if (a.size !== max || a.allocLowest(1, max) !== -1) throw new Error('bug: the allocator did not fill');
  return secs;
}

/**
 * The PASID allocator: ops/s filling all 1,048,575 ids of [1, 0xFFFFF], and random
 * frees each followed by a lowest-free alloc at half full. The cost per op of filling a
 * 16-bit space is measured beside it: a flat cost says it does not grow with the space.
 *
 * @example
 * allocatorRows(1_000_000, 3, console.error).map((r) => r.value); // [ops/s fill, ops/s churn]
 */
export function allocatorRows(churnOps: number, runs: number, log: (s: string) => void): BenchRow[] {
  const MAX = 0xfffff;
  const SMALL = 0xffff;
  const fillRuns: number[] = [];
  const smallRuns: number[] = [];
  const churnRuns: number[] = [];
  for (let r = 0; r < runs; r++) {
    gc();
    fillRuns.push(MAX / fill(MAX));
    smallRuns.push(SMALL / fill(SMALL));
    const a = new IdAllocator();
    const held: number[] = [];
    for (let i = 0; i < (MAX + 1) / 2; i++) held.push(a.allocLowest(1, MAX));
    const rnd = prng(0xa110c + r);
    gc();
    const secs = timeIt(() => {
      for (let k = 0; k < churnOps; k += 2) {
        const j = Math.floor(rnd() * held.length);
        a.free(held[j]!);
        held[j] = a.allocLowest(1, MAX);
      }
    });
    if (a.size !== held.length) throw new Error('bug: churn lost ids');
    churnRuns.push(churnOps / secs);
    log(`allocator run ${r + 1}/${runs}: fill ${fillRuns[r]!.toFixed(0)} ops/s (16-bit space ${smallRuns[r]!.toFixed(0)}), churn ${churnRuns[r]!.toFixed(0)} ops/s`);
  }
  const fillRow = absRow('alloc_fill', 'allocator: fill all 1,048,575 ids, lowest free', 'ops/s', fillRuns, { kind: 'none' });
  const small = absRow('x', '', '', smallRuns, { kind: 'none' }).value!;
  fillRow.note = `per op ${(1e9 / fillRow.value!).toFixed(0)} ns; filling a 16-bit space: ${(1e9 / small).toFixed(0)} ns per op (cost does not grow with the space)`;
  const churnRow = absRow('alloc_churn', 'allocator: random free + lowest-free alloc at half full', 'ops/s', churnRuns, { kind: 'none' },
    `${churnOps.toLocaleString('en-US')} ops (frees and allocs) with 524,288 of 1,048,575 ids held`);
  return [fillRow, churnRow];
}
