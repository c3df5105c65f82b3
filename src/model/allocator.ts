/**
 * Host-wide IOASID (PASID) id allocator.
 *
 * Models the Linux ioasid allocator as used by the VFIO PASID patches:
 * - one namespace for the whole host; ids are unsigned 32-bit integers
 *   `0..0xFFFFFFFF`;
 * - allocation returns the LOWEST free id in `[min, max]` (inclusive). It never
 *   cycles, never randomises, and keeps no "next" cursor, so a freed id is
 *   eligible again immediately;
 * - `min > max` is an empty range: nothing can be allocated.
 *
 * Layout: the space is split into 65,536 chunks of 2^16 ids. A chunk exists only
 * while it holds at least one id (absent chunk == all ids free). A chunk holding
 * few ids is a sorted array (so ids scattered over the u32 space cost O(1) memory
 * each); a busier chunk is a three-level bitmap. A top-level bitmap records which
 * chunks are completely full, so a search skips full chunks in O(1) words.
 * The 20-bit PASID space [0, 0xFFFFF] costs 16 dense chunks, about 136 KB.
 *
 * @module
 */

/** Number of ids in a chunk (2^16). */
const CHUNK_IDS = 0x10000;
/** A sparse chunk is promoted to a bitmap once it holds more than this many ids. */
const SPARSE_MAX = 256;
/** A dense chunk is demoted to a sorted array once it holds fewer than this many ids (hysteresis vs SPARSE_MAX). */
const DENSE_MIN = 64;

/** Index of the lowest set bit of a non-zero 32-bit value. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Throws unless `x` is an integer in `0..0xFFFFFFFF` (`x >>> 0 === x` rejects NaN, fractions, negatives, >= 2^32). */
function checkU32(x: number, what: string): void {
  if (x >>> 0 !== x) throw new RangeError(`${what} must be an integer in 0..0xFFFFFFFF, got ${String(x)}`);
}

/**
 * Fixed 65,536-bit set with "first zero at or after" search in a constant number
 * of word operations.
 *
 * Invariants:
 * - bit j of `l1[k]` is set  <=>  `l0[k * 32 + j] === -1` (that 32-bit word is full);
 * - bit j of `l2[k]` is set  <=>  `l1[k * 32 + j] === -1` (those 1,024 bits are full).
 */
class Bitset16 {
  constructor(
    readonly l0: Int32Array = new Int32Array(2048),
    readonly l1: Int32Array = new Int32Array(64),
    readonly l2: Int32Array = new Int32Array(2),
  ) {}

  get(i: number): boolean {
    return (this.l0[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** Sets bit i; false if it was already set. */
  set(i: number): boolean {
    const wi = i >>> 5;
    const b = 1 << (i & 31);
    const w = this.l0[wi]!;
    if ((w & b) !== 0) return false;
    const nw = w | b;
    this.l0[wi] = nw;
    if (nw === -1) {
      const w1 = wi >>> 5;
      const n1 = this.l1[w1]! | (1 << (wi & 31));
      this.l1[w1] = n1;
      if (n1 === -1) this.l2[w1 >>> 5]! |= 1 << (w1 & 31);
    }
    return true;
  }

  /** Clears bit i; false if it was already clear. */
  clear(i: number): boolean {
    const wi = i >>> 5;
    const b = 1 << (i & 31);
    const w = this.l0[wi]!;
    if ((w & b) === 0) return false;
    if (w === -1) {
      const w1 = wi >>> 5;
      const o1 = this.l1[w1]!;
      this.l1[w1] = o1 & ~(1 << (wi & 31));
      if (o1 === -1) this.l2[w1 >>> 5]! &= ~(1 << (w1 & 31));
    }
    this.l0[wi] = w & ~b;
    return true;
  }

  /** Lowest clear bit >= from (from in 0..65535), or -1. */
  findZero(from: number): number {
    let wi = from >>> 5;
    let m = ~this.l0[wi]! & (-1 << (from & 31));
    if (m !== 0) return (wi << 5) | ctz(m);
    // Word wi has no zero at/after `from`: the answer lies in the first non-full word after wi.
    const p1 = wi + 1;
    if (p1 >= 2048) return -1;
    let wi1 = p1 >>> 5;
    m = ~this.l1[wi1]! & (-1 << (p1 & 31));
    if (m === 0) {
      // No non-full word in the rest of this l1 group: go to the next non-full l1 word.
      let wi2 = (wi1 + 1) >>> 5;
      if (wi2 >= 2) return -1;
      m = ~this.l2[wi2]! & (-1 << ((wi1 + 1) & 31));
      while (m === 0) {
        if (++wi2 >= 2) return -1;
        m = ~this.l2[wi2]!;
      }
      wi1 = (wi2 << 5) | ctz(m);
      m = ~this.l1[wi1]!;
    }
    wi = (wi1 << 5) | ctz(m);
    return (wi << 5) | ctz(~this.l0[wi]!);
  }

  clone(): Bitset16 {
    return new Bitset16(this.l0.slice(), this.l1.slice(), this.l2.slice());
  }
}

/** Offsets 0..65535 within one chunk. Invariant: `count` equals the number of offsets held, and is >= 1 while stored. */
interface Chunk {
  readonly dense: boolean;
  count: number;
  has(off: number): boolean;
  set(off: number): boolean;
  clear(off: number): boolean;
  /** Lowest free offset in [from, to], or -1. */
  findZero(from: number, to: number): number;
  /** Appends `base + offset` for every held offset, ascending. */
  collect(base: number, out: number[]): void;
  clone(): Chunk;
}

/** Few ids: strictly ascending array of offsets. */
class SparseChunk implements Chunk {
  readonly dense = false;
  constructor(readonly offs: number[]) {}

  get count(): number {
    return this.offs.length;
  }

  /** Index of the first element >= off. */
  private lowerBound(off: number): number {
    const a = this.offs;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(off: number): boolean {
    const j = this.lowerBound(off);
    return j < this.offs.length && this.offs[j] === off;
  }

  set(off: number): boolean {
    const j = this.lowerBound(off);
    if (j < this.offs.length && this.offs[j] === off) return false;
    this.offs.splice(j, 0, off);
    return true;
  }

  clear(off: number): boolean {
    const j = this.lowerBound(off);
    if (j >= this.offs.length || this.offs[j] !== off) return false;
    this.offs.splice(j, 1);
    return true;
  }

  findZero(from: number, to: number): number {
    const a = this.offs;
    let j = this.lowerBound(from);
    let p = from;
    // Walk the run of held offsets starting at `from`; the first gap is the answer.
    while (j < a.length && a[j] === p) {
      p++;
      j++;
    }
    return p <= to ? p : -1;
  }

  collect(base: number, out: number[]): void {
    for (const off of this.offs) out.push(base + off);
  }

  clone(): Chunk {
    return new SparseChunk(this.offs.slice());
  }
}

/** Many ids: hierarchical bitmap. */
class DenseChunk implements Chunk {
  readonly dense = true;
  constructor(
    readonly bits: Bitset16 = new Bitset16(),
    public count = 0,
  ) {}

  has(off: number): boolean {
    return this.bits.get(off);
  }

  set(off: number): boolean {
    if (!this.bits.set(off)) return false;
    this.count++;
    return true;
  }

  clear(off: number): boolean {
    if (!this.bits.clear(off)) return false;
    this.count--;
    return true;
  }

  findZero(from: number, to: number): number {
    const r = this.bits.findZero(from);
    return r !== -1 && r <= to ? r : -1;
  }

  collect(base: number, out: number[]): void {
    const l0 = this.bits.l0;
    for (let wi = 0; wi < 2048; wi++) {
      let w = l0[wi]!;
      while (w !== 0) {
        const t = w & -w;
        out.push(base + ((wi << 5) | (31 - Math.clz32(t))));
        w ^= t;
      }
    }
  }

  clone(): Chunk {
    return new DenseChunk(this.bits.clone(), this.count);
  }
}

/**
 * The host-wide IOASID/PASID allocator: a set of allocated u32 ids with
 * lowest-free-first allocation in a caller-given inclusive range.
 *
 * Every operation is O(log n) or better (constant word operations per bitmap
 * level, a binary search in small chunks). Ids and bounds that are not integers
 * in `0..0xFFFFFFFF` are caller bugs and throw `RangeError`; nothing is clamped.
 *
 * @example
 * const a = new IdAllocator();
 * a.allocLowest(1, 0xfffff); // 1
 * a.allocLowest(1, 0xfffff); // 2
 * a.free(1);
 * a.allocLowest(1, 0xfffff); // 1 again: lowest free, no cycling
 */
export class IdAllocator {
  /** Chunk index (id >>> 16) -> chunk. Invariant: only chunks with count >= 1 are stored. */
  private chunks = new Map<number, Chunk>();
  /** Bit c set <=> chunk c holds all 65,536 ids. */
  private full = new Bitset16();
  private count = 0;

  /**
   * Allocates the lowest free id in `[min, max]` (inclusive), as the kernel's
   * ioasid_alloc does. Returns -1 if every id in the range is taken or if
   * `min > max`.
   *
   * @example
   * const a = IdAllocator.fromIds([1, 2, 4]);
   * a.allocLowest(1, 10); // 3
   * a.allocLowest(1, 3);  // -1
   * a.allocLowest(5, 4);  // -1 (empty range)
   */
  allocLowest(min: number, max: number): number {
    const id = this.findLowest(min, max);
    if (id !== -1) this.insert(id);
    return id;
  }

  /**
   * The id `allocLowest(min, max)` would return, without allocating it; -1 if
   * none is free or `min > max`.
   *
   * @example
   * const a = IdAllocator.fromIds([0, 1]);
   * a.findLowest(0, 100); // 2
   * a.size;               // still 2
   */
  findLowest(min: number, max: number): number {
    checkU32(min, 'min');
    checkU32(max, 'max');
    if (min > max) return -1;
    const cLo = min >>> 16;
    const cHi = max >>> 16;
    const lo = min & 0xffff;
    const hi = max & 0xffff;
    if (cLo === cHi) return this.findIn(cLo, lo, hi);
    const r = this.findIn(cLo, lo, 0xffff);
    if (r !== -1) return r;
    if (cLo + 1 < cHi) {
      // Any chunk not marked full has a free id, so the first such chunk holds the answer.
      const c = this.full.findZero(cLo + 1);
      if (c !== -1 && c < cHi) return this.findIn(c, 0, 0xffff);
    }
    return this.findIn(cHi, 0, hi);
  }

  /**
   * Marks a specific id allocated (e.g. when replaying the log). Returns false,
   * changing nothing, if it was already allocated.
   *
   * @example
   * const a = new IdAllocator();
   * a.mark(42);  // true
   * a.mark(42);  // false
   */
  mark(id: number): boolean {
    checkU32(id, 'id');
    return this.insert(id);
  }

  /**
   * Frees an id, making it immediately eligible for allocation again. Returns
   * false if it was not allocated.
   *
   * @example
   * const a = IdAllocator.fromIds([7]);
   * a.free(7); // true
   * a.free(7); // false
   */
  free(id: number): boolean {
    checkU32(id, 'id');
    const c = id >>> 16;
    let chunk = this.chunks.get(c);
    if (chunk === undefined || !chunk.clear(id & 0xffff)) return false;
    this.count--;
    const n = chunk.count;
    if (n === CHUNK_IDS - 1) this.full.clear(c);
    if (n === 0) {
      this.chunks.delete(c);
    } else if (chunk.dense && n < DENSE_MIN) {
      const offs: number[] = [];
      chunk.collect(0, offs);
      chunk = new SparseChunk(offs);
      this.chunks.set(c, chunk);
    }
    return true;
  }

  /**
   * Whether an id is allocated.
   *
   * @example
   * IdAllocator.fromIds([3]).has(3); // true
   */
  has(id: number): boolean {
    checkU32(id, 'id');
    const chunk = this.chunks.get(id >>> 16);
    return chunk !== undefined && chunk.has(id & 0xffff);
  }

  /**
   * Number of allocated ids.
   *
   * @example
   * IdAllocator.fromIds([1, 5]).size; // 2
   */
  get size(): number {
    return this.count;
  }

  /**
   * Allocated ids in ascending order.
   *
   * @example
   * [...IdAllocator.fromIds([9, 1, 0x100000]).ids()]; // [1, 9, 0x100000]
   */
  *ids(): IterableIterator<number> {
    const out: number[] = [];
    for (const c of this.sortedChunkKeys()) {
      out.length = 0;
      this.chunks.get(c)!.collect(c * CHUNK_IDS, out);
      yield* out;
    }
  }

  /**
   * Allocated ids as an ascending array.
   *
   * @example
   * IdAllocator.fromIds([3, 2]).toArray(); // [2, 3]
   */
  toArray(): number[] {
    const out: number[] = [];
    for (const c of this.sortedChunkKeys()) this.chunks.get(c)!.collect(c * CHUNK_IDS, out);
    return out;
  }

  /**
   * Independent deep copy: later changes to either side do not affect the other.
   *
   * @example
   * const a = IdAllocator.fromIds([1]);
   * const b = a.clone();
   * b.mark(2);
   * a.has(2); // false
   */
  clone(): IdAllocator {
    const copy = new IdAllocator();
    for (const [c, chunk] of this.chunks) copy.chunks.set(c, chunk.clone());
    copy.full = this.full.clone();
    copy.count = this.count;
    return copy;
  }

  /**
   * Builds an allocator with the given ids allocated (inverse of `toArray`).
   * Duplicates collapse to one id; use `mark` to detect them. Throws
   * `RangeError` on any id outside `0..0xFFFFFFFF` or not an integer.
   *
   * @example
   * const a = IdAllocator.fromIds([5, 1]);
   * a.toArray();           // [1, 5]
   * a.allocLowest(1, 10);  // 2
   */
  static fromIds(ids: Iterable<number>): IdAllocator {
    const a = new IdAllocator();
    for (const id of ids) a.mark(id);
    return a;
  }

  /** Lowest free id in chunk c with offset in [lo, hi]; an absent chunk is entirely free. */
  private findIn(c: number, lo: number, hi: number): number {
    const chunk = this.chunks.get(c);
    if (chunk === undefined) return c * CHUNK_IDS + lo;
    const r = chunk.findZero(lo, hi);
    return r === -1 ? -1 : c * CHUNK_IDS + r;
  }

  /** Marks a validated id; maintains the chunk representation and full-chunk invariants. */
  private insert(id: number): boolean {
    const c = id >>> 16;
    const off = id & 0xffff;
    let chunk = this.chunks.get(c);
    if (chunk === undefined) {
      this.chunks.set(c, new SparseChunk([off]));
      this.count++;
      return true;
    }
    if (!chunk.set(off)) return false;
    this.count++;
    const n = chunk.count;
    if (!chunk.dense && n > SPARSE_MAX) {
      const dense = new DenseChunk();
      for (const o of (chunk as SparseChunk).offs) dense.set(o);
      chunk = dense;
      this.chunks.set(c, chunk);
    }
    if (n === CHUNK_IDS) this.full.set(c);
    return true;
  }

  private sortedChunkKeys(): number[] {
    return [...this.chunks.keys()].sort((x, y) => x - y);
  }
}
