import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IdAllocator } from '../src/model/allocator.js';
import { mulberry32 } from './helpers.js';

const s = suite('IdAllocator');
const U32_MAX = 0xffffffff;


/** Obviously-correct reference: a Set with a linear scan for the lowest free id. */
class RefAllocator {
  readonly set = new Set<number>();
  findLowest(min: number, max: number): number {
    for (let id = min; id <= max; id++) if (!this.set.has(id)) return id;
    return -1;
  }
  allocLowest(min: number, max: number): number {
    const id = this.findLowest(min, max);
    if (id !== -1) this.set.add(id);
    return id;
  }
  mark(id: number): boolean {
    if (this.set.has(id)) return false;
    this.set.add(id);
    return true;
  }
  free(id: number): boolean {
    return this.set.delete(id);
  }
  sorted(): number[] {
    return [...this.set].sort((a, b) => a - b);
  }
}

s('allocates lowest free ids in order', () => {
  const a = new IdAllocator();
  for (let i = 1; i <= 100; i++) assert.is(a.allocLowest(1, 0xfffff), i);
  assert.is(a.size, 100);
  assert.is(a.allocLowest(50, 0xfffff), 101);
  assert.is(a.allocLowest(200, 300), 200);
  assert.is(a.allocLowest(1, 0xfffff), 102);
});

s('a freed id is reused immediately (no cycling)', () => {
  const a = new IdAllocator();
  for (let i = 0; i < 10; i++) a.allocLowest(1, 1000);
  assert.ok(a.free(4));
  assert.is(a.allocLowest(1, 1000), 4);
  assert.is(a.allocLowest(1, 1000), 11);
  assert.ok(a.free(2));
  assert.ok(a.free(7));
  assert.is(a.findLowest(1, 1000), 2);
  assert.is(a.allocLowest(1, 1000), 2);
  assert.is(a.allocLowest(1, 1000), 7);
});

s('min > max is an empty range; min = max is a single id', () => {
  const a = new IdAllocator();
  assert.is(a.allocLowest(5, 4), -1);
  assert.is(a.findLowest(U32_MAX, 0), -1);
  assert.is(a.size, 0);
  assert.is(a.allocLowest(9, 9), 9);
  assert.is(a.allocLowest(9, 9), -1);
  assert.is(a.findLowest(9, 9), -1);
  assert.ok(a.free(9));
  assert.is(a.findLowest(9, 9), 9);
});

s('bounds 0 and 0xFFFFFFFF', () => {
  const a = new IdAllocator();
  assert.is(a.allocLowest(0, 0), 0);
  assert.is(a.allocLowest(0, U32_MAX), 1);
  assert.is(a.allocLowest(U32_MAX, U32_MAX), U32_MAX);
  assert.is(a.allocLowest(U32_MAX, U32_MAX), -1);
  assert.is(a.allocLowest(U32_MAX - 1, U32_MAX), U32_MAX - 1);
  assert.ok(a.has(0));
  assert.ok(a.has(U32_MAX));
  assert.equal(a.toArray(), [0, 1, U32_MAX - 1, U32_MAX]);
  assert.ok(a.free(U32_MAX));
  assert.is(a.findLowest(0x80000000, U32_MAX), 0x80000000);
  assert.is(a.findLowest(U32_MAX - 1, U32_MAX), U32_MAX);
});

s('ids straddling word and chunk boundaries', () => {
  const edges = [31, 32, 63, 64, 1023, 1024, 65535, 65536, 0xfffff, 0x100000, 0x7fffffff, 0x80000000];
  const a = new IdAllocator();
  for (const id of edges) {
    assert.ok(a.mark(id), `mark ${id}`);
    assert.ok(a.has(id));
    assert.not.ok(a.has(id - 1) && !edges.includes(id - 1));
  }
  assert.equal(a.toArray(), [...edges].sort((x, y) => x - y));
  assert.is(a.findLowest(31, 100), 33);
  assert.is(a.findLowest(63, 64), -1);
  assert.is(a.findLowest(65535, 65536), -1);
  assert.is(a.findLowest(65535, 65537), 65537);
  assert.is(a.findLowest(0xfffff, 0x100000), -1);
  assert.is(a.findLowest(0xfffff, 0x100001), 0x100001);
  assert.is(a.findLowest(0x7fffffff, 0x80000000), -1);

  // Fill a whole word and a whole chunk and search across them.
  const b = new IdAllocator();
  for (let i = 0; i < 32; i++) b.mark(32 + i);
  assert.is(b.findLowest(32, 1000), 64);
  for (let i = 0; i < 65536; i++) b.mark(65536 + i);
  assert.is(b.findLowest(65536, 65536 * 3), 131072);
  assert.is(b.findLowest(65536, 131071), -1);
  assert.is(b.findLowest(40, 65536 * 3), 64);
  assert.ok(b.free(65536 + 40000));
  assert.is(b.findLowest(65536, 131071), 65536 + 40000);
  // A search spanning three chunks must see that the (formerly full) middle chunk has a hole.
  b.mark(65535);
  assert.is(b.findLowest(65535, 65536 * 3), 65536 + 40000);
  assert.is(b.allocLowest(65535, 65536 * 3), 65536 + 40000);
  assert.is(b.findLowest(65535, 65536 * 3), 131072);
});

s('exhausting a range returns -1', () => {
  const a = new IdAllocator();
  for (let i = 0; i < 5000; i++) assert.is(a.allocLowest(65000, 69999), 65000 + i);
  assert.is(a.allocLowest(65000, 69999), -1);
  assert.is(a.findLowest(65000, 69999), -1);
  assert.is(a.findLowest(64999, 70000), 64999);
  assert.is(a.size, 5000);
});

s('mark/free/has semantics', () => {
  const a = new IdAllocator();
  assert.not.ok(a.has(5));
  assert.not.ok(a.free(5));
  assert.ok(a.mark(5));
  assert.not.ok(a.mark(5));
  assert.ok(a.has(5));
  assert.is(a.size, 1);
  assert.is(a.allocLowest(5, 10), 6);
  assert.ok(a.free(5));
  assert.not.ok(a.free(5));
  assert.not.ok(a.has(5));
  assert.is(a.size, 1);
});

s('invalid ids and bounds throw RangeError', () => {
  const a = new IdAllocator();
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 32, -0.5]) {
    assert.throws(() => a.mark(bad), (e: unknown) => e instanceof RangeError);
    assert.throws(() => a.free(bad), (e: unknown) => e instanceof RangeError);
    assert.throws(() => a.has(bad), (e: unknown) => e instanceof RangeError);
    assert.throws(() => a.allocLowest(bad, 10), (e: unknown) => e instanceof RangeError);
    assert.throws(() => a.allocLowest(0, bad), (e: unknown) => e instanceof RangeError);
    assert.throws(() => a.findLowest(bad, 10), (e: unknown) => e instanceof RangeError);
    assert.throws(() => IdAllocator.fromIds([1, bad]), (e: unknown) => e instanceof RangeError);
  }
  assert.is(a.size, 0);
});

s('clone is independent', () => {
  const a = IdAllocator.fromIds([1, 2, 3, 0x123456]);
  for (let i = 0; i < 1000; i++) a.mark(70000 + i);
  const b = a.clone();
  assert.equal(b.toArray(), a.toArray());
  b.mark(4);
  b.free(1);
  b.free(70500);
  a.mark(99);
  assert.ok(a.has(1));
  assert.not.ok(a.has(4));
  assert.ok(a.has(70500));
  assert.not.ok(b.has(99));
  assert.is(a.size, 1005);
  assert.is(b.size, 1003);
  assert.is(a.allocLowest(1, 100), 4);
  assert.is(b.allocLowest(1, 100), 1);
});

s('fromIds/toArray/ids round trip', () => {
  const rnd = mulberry32(7);
  const ids = new Set<number>();
  while (ids.size < 3000) {
    const r = rnd();
    ids.add(r < 0.5 ? Math.floor(rnd() * 0x20000) : Math.floor(rnd() * 2 ** 32));
  }
  const sorted = [...ids].sort((x, y) => x - y);
  const a = IdAllocator.fromIds(ids);
  assert.is(a.size, ids.size);
  assert.equal(a.toArray(), sorted);
  assert.equal([...a.ids()], sorted);
  assert.equal(IdAllocator.fromIds(a.toArray()).toArray(), sorted);
  assert.equal(IdAllocator.fromIds([3, 3, 1]).toArray(), [1, 3]);
  assert.equal(new IdAllocator().toArray(), []);
});

s('randomized differential test against a linear-scan reference', () => {
  const rnd = mulberry32(0xc0ffee);
  // Windows at word/chunk boundaries, the 20-bit edge, the high range and the u32 top;
  // widths small (sparse chunks) and large (dense chunks, promotion and demotion).
  const windows: Array<[number, number]> = [
    [0, 80],
    [65536 - 40, 65536 + 40],
    [65536 - 700, 65536 + 700],
    [0xfffff - 30, 0xfffff + 30],
    [0x12340000 - 500, 0x12340000 + 500],
    [0x80000000 - 50, 0x80000000 + 50],
    [U32_MAX - 60, U32_MAX],
    [3 * 65536 - 1, 3 * 65536 + 1],
  ];
  for (const [wLo, wHi] of windows) {
    const a = new IdAllocator();
    const ref = new RefAllocator();
    const pick = () => wLo + Math.floor(rnd() * (wHi - wLo + 1));
    for (let step = 0; step < 4000; step++) {
      const op = rnd();
      if (op < 0.45) {
        let min = pick();
        let max = pick();
        if (rnd() < 0.7 && min > max) [min, max] = [max, min];
        if (rnd() < 0.3) [min, max] = [wLo, wHi];
        assert.is(a.allocLowest(min, max), ref.allocLowest(min, max), `alloc [${min},${max}] step ${step}`);
      } else if (op < 0.55) {
        const min = pick();
        const max = pick();
        assert.is(a.findLowest(min, max), ref.findLowest(min, max), `find [${min},${max}]`);
      } else if (op < 0.65) {
        const id = pick();
        assert.is(a.mark(id), ref.mark(id), `mark ${id}`);
      } else if (op < 0.95) {
        // Bias frees towards allocated ids so the window both fills and drains.
        const held = ref.sorted();
        const id = held.length > 0 && rnd() < 0.8 ? held[Math.floor(rnd() * held.length)]! : pick();
        assert.is(a.free(id), ref.free(id), `free ${id}`);
      } else {
        const id = pick();
        assert.is(a.has(id), ref.set.has(id), `has ${id}`);
      }
      assert.is(a.size, ref.set.size);
      if (step % 250 === 0) assert.equal(a.toArray(), ref.sorted());
    }
    assert.equal(a.toArray(), ref.sorted());
    assert.equal([...a.clone().ids()], ref.sorted());
  }
});

s('fills the whole 20-bit PASID range [1, 0xFFFFF]', () => {
  const a = new IdAllocator();
  for (let i = 1; i <= 0xfffff; i++) {
    if (a.allocLowest(1, 0xfffff) !== i) assert.unreachable(`expected ${i}`);
  }
  assert.is(a.size, 0xfffff);
  assert.is(a.allocLowest(1, 0xfffff), -1);
  assert.not.ok(a.has(0));
  assert.is(a.findLowest(0, 0xfffff), 0);
  assert.is(a.findLowest(1, 0x100000), 0x100000);
  assert.ok(a.free(777));
  assert.is(a.allocLowest(1, 0xfffff), 777);
  assert.is(a.allocLowest(1, 0xfffff), -1);
});

s.run();
