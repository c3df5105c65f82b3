import { hash } from 'node:crypto';

/** Bytes of one SHA-256 hash. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);

/**
 * The RFC 6962 leaf hash: SHA-256 over the byte 0x00 then the entry's bytes (a string
 * as UTF-8).
 *
 * @example
 * hashLeaf('{"seq":1}'); // 32-byte Buffer, the same value as the log's `leaf` column
 */
export function hashLeaf(data: string | Uint8Array): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return hash('sha256', Buffer.concat([LEAF_PREFIX, bytes]), 'buffer') as unknown as Buffer;
}

/**
 * The RFC 6962 interior node hash: SHA-256 over 0x01, the left child, the right child.
 *
 * @example
 * hashChildren(hashLeaf('a'), hashLeaf('b')); // the root of the 2-leaf tree
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  // One scratch buffer instead of a concat per node: this runs once per append on average.
  SCRATCH.set(left, 1);
  SCRATCH.set(right, 1 + HASH_SIZE);
  // From the hex digest: on node 20 `hash(..., 'buffer')` costs more than hex then decoding it.
  return Buffer.from(hash('sha256', SCRATCH, 'hex'), 'hex');
}
const SCRATCH = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** SHA-256 of nothing: RFC 6962's root of the empty tree. */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer') as unknown as Buffer;

/**
 * Reads the hash of the complete subtree of 2^level leaves starting at leaf
 * `index * 2^level` (level 0: the leaf hashes). A store answers from its table, a test
 * from an array. Throws when the node is not there (the caller asked past the tree).
 */
export type NodeReader = (level: number, index: number) => Buffer;

/** The largest power of two strictly below `n` (n ≥ 2): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Whether n is a power of two (1, 2, 4, ...). */
export function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/**
 * The complete subtrees that make a tree of `size` leaves, left to right: for each bit
 * set in `size` from the highest, the subtree at that level and where it starts.
 *
 * @example
 * subtrees(6); // [{ level: 2, index: 0 }, { level: 1, index: 2 }]
 */
export function subtrees(size: number): Array<{ level: number; index: number }> {
  const out: Array<{ level: number; index: number }> = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (Math.floor(size / width) % 2 === 1) {
      out.push({ level, index: start / width });
      start += width;
    }
  }
  return out;
}

/**
 * The RFC 6962 hash of the leaves `lo <= i < hi` as the tree's recursion cuts them
 * (`lo` a multiple of the largest power of two below `hi - lo`, as every range of the
 * recursion is), reading complete subtrees through `node`.
 */
export function rangeHash(lo: number, hi: number, node: NodeReader, memo?: Map<string, Buffer>): Buffer {
  const n = hi - lo;
  if (n <= 0) throw new Error(`bug: empty range ${lo}..${hi}`);
  if (isPow2(n) && lo % n === 0) return node(Math.log2(n), lo / n);
  const key = memo ? `${lo},${hi}` : '';
  const seen = memo?.get(key);
  if (seen) return seen;
  const k = splitPoint(n);
  const h = hashChildren(rangeHash(lo, lo + k, node, memo), rangeHash(lo + k, hi, node, memo));
  memo?.set(key, h);
  return h;
}

/**
 * The RFC 6962 root of the first `size` leaves: at most log2(size) node reads.
 *
 * @example
 * rootAt(5, (l, i) => nodes[l][i]);
 */
export function rootAt(size: number, node: NodeReader): Buffer {
  if (size === 0) return EMPTY_ROOT;
  const parts = subtrees(size);
  let r = node(parts[parts.length - 1]!.level, parts[parts.length - 1]!.index);
  for (let i = parts.length - 2; i >= 0; i--) r = hashChildren(node(parts[i]!.level, parts[i]!.index), r);
  return r;
}

/**
 * The right edge of a growing tree: the complete subtrees of the leaves pushed so far,
 * O(log n) memory. Each push returns the complete nodes it finished (level ≥ 1), so
 * that a store can keep them.
 *
 * @example
 * const f = new Frontier(); for (const l of leaves) f.push(l); f.root();
 */
export class Frontier {
  /** Hashes of the complete subtrees, highest level first (as `subtrees(size)`). */
  private stack: Array<{ level: number; hash: Buffer }> = [];

  constructor(
    public size = 0,
    edge: Buffer[] = [],
  ) {
    const parts = subtrees(size);
    if (parts.length !== edge.length) throw new Error(`bug: a frontier of size ${size} has ${parts.length} subtrees, got ${edge.length}`);
    this.stack = parts.map((p, i) => ({ level: p.level, hash: edge[i]! }));
  }

  /** Adds leaf `size`; returns the nodes it completed, lowest level first. */
  push(leaf: Buffer): Array<{ level: number; index: number; hash: Buffer }> {
    const made: Array<{ level: number; index: number; hash: Buffer }> = [];
    let cur = { level: 0, hash: leaf };
    const end = this.size + 1;
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.level === cur.level) {
      const left = this.stack.pop()!;
      cur = { level: cur.level + 1, hash: hashChildren(left.hash, cur.hash) };
      made.push({ level: cur.level, index: end / 2 ** cur.level - 1, hash: cur.hash });
    }
    this.stack.push(cur);
    this.size = end;
    return made;
  }

  /** The root of the leaves pushed so far (EMPTY_ROOT for none). */
  root(): Buffer {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = hashChildren(this.stack[i]!.hash, r);
    return r;
  }
}
