import { HASH_SIZE, hashChildren, rangeHash, splitPoint, type NodeReader } from './merkle.js';

/**
 * The RFC 6962 / RFC 9162 inclusion proof (audit path) of leaf `index` in the tree of
 * `size` leaves: the sibling hashes from the leaf up, O(log n) node reads.
 *
 * @throws RangeError when `index >= size`.
 * @example
 * inclusionPath(3, 7, reader); // [h(2), h(0..2), h(4..7)]
 */
export function inclusionPath(index: number, size: number, node: NodeReader): Buffer[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`index ${index} is not in a tree of size ${size}`);
  const out: Buffer[] = [];
  // The right edge's ranges recur at every level: each is hashed once.
  const memo = new Map<string, Buffer>();
  let lo = 0;
  let hi = size;
  const siblings: Buffer[] = [];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      siblings.push(rangeHash(lo + k, hi, node, memo));
      hi = lo + k;
    } else {
      siblings.push(rangeHash(lo, lo + k, node, memo));
      lo = lo + k;
    }
  }
  // The recursion finds siblings from the root down; the proof lists them from the leaf up.
  for (let i = siblings.length - 1; i >= 0; i--) out.push(siblings[i]!);
  return out;
}

/**
 * The RFC 6962 consistency proof that the tree of `oldSize` leaves is a prefix of the
 * tree of `size` leaves (SUBPROOF of RFC 6962 section 2.1.2). Empty when the sizes are equal.
 *
 * @throws RangeError unless 0 < oldSize <= size.
 * @example
 * consistencyPath(3, 7, reader); // [h(2), h(3), h(0..2), h(4..7)]
 */
export function consistencyPath(oldSize: number, size: number, node: NodeReader): Buffer[] {
  if (!(oldSize > 0 && oldSize <= size)) throw new RangeError(`no consistency proof from size ${oldSize} to size ${size}`);
  if (oldSize === size) return [];
  const siblings: Buffer[] = [];
  const memo = new Map<string, Buffer>();
  let terminal: Buffer | null = null;
  let lo = 0;
  let hi = size;
  let m = oldSize;
  let whole = true;
  // SUBPROOF(m, D[lo:hi], whole), unrolled: each level adds its sibling after the
  // sub-proof below it, so the output is the terminal hash then the siblings bottom-up.
  for (;;) {
    const n = hi - lo;
    if (m === n) {
      if (!whole) terminal = rangeHash(lo, hi, node, memo);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      siblings.push(rangeHash(lo + k, hi, node, memo));
      hi = lo + k;
    } else {
      siblings.push(rangeHash(lo, lo + k, node, memo));
      lo += k;
      m -= k;
      whole = false;
    }
  }
  const out: Buffer[] = terminal ? [terminal] : [];
  for (let i = siblings.length - 1; i >= 0; i--) out.push(siblings[i]!);
  return out;
}

/** Why a proof does not check out; null when it does. */
export type ProofProblem = string | null;

function badHash(h: Uint8Array | null | undefined): boolean {
  return !(h instanceof Uint8Array) || h.length !== HASH_SIZE;
}

/**
 * The root that an inclusion proof implies for `leaf` at `index` in a tree of `size`
 * (RFC 9162 section 2.1.3.2), or what is wrong with the proof.
 */
export function rootFromInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Buffer | string {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) return 'index and size must be non-negative integers';
  if (index >= size) return `index ${index} is not below tree size ${size}`;
  if (badHash(leaf)) return `the leaf hash is not ${HASH_SIZE} bytes`;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const [i, p] of proof.entries()) {
    if (badHash(p)) return `proof hash ${i} is not ${HASH_SIZE} bytes`;
    if (sn === 0) return `the proof has ${proof.length} hashes, more than the tree of size ${size} needs`;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return `the proof has ${proof.length} hashes, fewer than the tree of size ${size} needs`;
  return r;
}

/**
 * Checks an inclusion proof against a root (RFC 9162 section 2.1.3.2).
 *
 * @returns null when `leaf` is entry `index` of the tree of `size` leaves whose root is
 * `root`; otherwise what is wrong.
 * @example
 * verifyInclusion(4, 7, leaf, proof, root); // null
 */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): ProofProblem {
  if (badHash(root)) return `the root is not ${HASH_SIZE} bytes`;
  const r = rootFromInclusion(index, size, leaf, proof);
  if (typeof r === 'string') return r;
  return r.equals(root) ? null : `the proof leads to root ${r.toString('base64')}, not ${Buffer.from(root).toString('base64')}`;
}

/**
 * Checks a consistency proof (RFC 9162 section 2.1.4.2): that the tree of `oldSize`
 * leaves with root `oldRoot` is a prefix of the tree of `size` leaves with root `root`.
 * A proof from the empty tree proves nothing and is refused.
 *
 * @returns null when it holds, otherwise what is wrong.
 * @example
 * verifyConsistency(3, 7, proof, oldRoot, root); // null
 */
export function verifyConsistency(oldSize: number, size: number, proof: readonly Uint8Array[], oldRoot: Uint8Array, root: Uint8Array): ProofProblem {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(size)) return 'sizes must be integers';
  if (oldSize < 1) return 'a consistency proof from the empty tree proves nothing';
  if (oldSize > size) return `the old size ${oldSize} is larger than the new size ${size}`;
  if (oldSize === size) {
    // Same size: nothing to prove but that the two roots are the same bytes.
    if (proof.length > 0) return 'equal sizes need an empty proof';
    return Buffer.from(oldRoot).equals(root) ? null : `two different roots for size ${size}: the log forked`;
  }
  if (badHash(oldRoot)) return `the old root is not ${HASH_SIZE} bytes`;
  if (badHash(root)) return `the root is not ${HASH_SIZE} bytes`;
  for (const [i, p] of proof.entries()) if (badHash(p)) return `proof hash ${i} is not ${HASH_SIZE} bytes`;
  if (proof.length === 0) return 'the proof is empty';
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = size - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return `the proof has ${proof.length} hashes, more than needed`;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return `the proof has ${proof.length} hashes, fewer than needed`;
  if (!fr.equals(oldRoot)) return `the proof does not lead to the old root of size ${oldSize}`;
  if (!sr.equals(root)) return `the proof does not lead to the root of size ${size}`;
  return null;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}
