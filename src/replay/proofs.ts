import type BetterSqlite3 from 'better-sqlite3';
import { leafHash as leafHex } from '../store/hash.js';
import { MerkleStore } from '../store/tree.js';
import { formatCheckpoint } from '../tlog/checkpoint.js';
import type { NoteSigner } from '../tlog/keys.js';
import { Frontier, rangeHash } from '../tlog/merkle.js';
import { signNote } from '../tlog/note.js';
import { verifyLog, type LogVerification } from './verify.js';
import { ReplayError } from './errors.js';

/** An inclusion proof as `prove --json` prints it (hashes in base64). */
export interface InclusionProofJson {
  index: number;
  tree_size: number;
  leaf_hash: string;
  hashes: string[];
  root: string;
}

/** A consistency proof as `prove --old-size --json` prints it. */
export interface ConsistencyProofJson {
  old_size: number;
  tree_size: number;
  old_root: string;
  root: string;
  hashes: string[];
}

const b64 = (b: Buffer): string => b.toString('base64');

function treeOf(src: BetterSqlite3.Database | MerkleStore): MerkleStore {
  return src instanceof MerkleStore ? src : new MerkleStore(src);
}

/**
 * The inclusion proof of entry `seq` in the log's tree of `size` entries (default: the
 * whole log), from the stored tree: O(log n) reads, nothing written.
 *
 * @throws ReplayError when seq or size is outside the log.
 * @example
 * inclusionProof(db, 120, 5000); // { index: 119, tree_size: 5000, leaf_hash, hashes: [...], root }
 */
export function inclusionProof(src: BetterSqlite3.Database | MerkleStore, seq: number, size?: number): InclusionProofJson {
  const tree = treeOf(src);
  const n = size ?? tree.logSize();
  if (n > tree.logSize()) throw new ReplayError(`the log has ${tree.logSize()} entries, not ${n}`);
  if (!(seq >= 1 && seq <= n)) throw new ReplayError(`entry ${seq} is not in the tree of size ${n}`);
  return tree.snapshot(() => ({ index: seq - 1, tree_size: n, leaf_hash: b64(tree.node(0, seq - 1)), hashes: tree.inclusion(seq, n).map(b64), root: b64(tree.root(n)) }));
}

/**
 * The consistency proof that the log's first `oldSize` entries are a prefix of its
 * first `size` (default: the whole log).
 *
 * @throws ReplayError unless 1 <= oldSize <= size <= the log's size.
 * @example
 * consistencyProof(db, 4000, 5000); // { old_size: 4000, tree_size: 5000, old_root, root, hashes }
 */
export function consistencyProof(src: BetterSqlite3.Database | MerkleStore, oldSize: number, size?: number): ConsistencyProofJson {
  const tree = treeOf(src);
  const n = size ?? tree.logSize();
  if (n > tree.logSize()) throw new ReplayError(`the log has ${tree.logSize()} entries, not ${n}`);
  if (!(oldSize >= 1 && oldSize <= n)) throw new ReplayError(`no consistency proof from size ${oldSize} to size ${n} (1 <= old size <= size)`);
  return tree.snapshot(() => ({ old_size: oldSize, tree_size: n, old_root: b64(tree.root(oldSize)), root: b64(tree.root(n)), hashes: tree.consistency(oldSize, n).map(b64) }));
}

/**
 * The signed C2SP checkpoint (signed note) of the log's stored tree at its current
 * size (or `size`), origin defaulting to the key's name. Trusts the stored tree: sign
 * after `verifyWithRoot` when the file may have been tampered with.
 *
 * @throws ReplayError for an empty log.
 * @example
 * checkpointText(db, signer); // 'example.com/log\n5000\n<root>\n\n— example.com/log <sig>\n'
 */
export function checkpointText(src: BetterSqlite3.Database | MerkleStore, signer: NoteSigner, opts: { origin?: string; size?: number } = {}): string {
  const tree = treeOf(src);
  const size = opts.size ?? tree.logSize();
  if (size === 0) throw new ReplayError('the log is empty: there is nothing to sign');
  return signNote(formatCheckpoint({ origin: opts.origin ?? signer.name, size, root: tree.snapshot(() => tree.root(size)) }), signer);
}

/** `verifyLog` plus the RFC 6962 root recomputed from the entries' texts (not from the stored tree). */
export interface RootVerification extends LogVerification {
  /** The root of the verified entries at `rootAt` (or at the end), when the log reached it intact. */
  root: { size: number; root: Buffer } | null;
}

/**
 * Verifies the log (`verifyLog`) and recomputes the tree's root from the verified
 * leaves in the same pass, at `rootAt` (default: the whole log).
 */
export function verifyWithRoot(db: BetterSqlite3.Database, opts: { rootAt?: number; onProgress?: (seq: number, total: number) => void } = {}): RootVerification {
  const f = new Frontier();
  let root: RootVerification['root'] = null;
  const r = verifyLog(db, {
    ...(opts.rootAt !== undefined ? { chainAt: opts.rootAt } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    onLeaf: (seq, hex) => {
      f.push(Buffer.from(hex, 'hex'));
      if (seq === opts.rootAt) root = { size: seq, root: f.root() };
    },
  });
  if (opts.rootAt === undefined && r.ok) root = { size: f.size, root: f.root() };
  return { ...r, root };
}

/**
 * For a log whose recomputed root at `size` differs from a signed one: the first entry
 * whose recomputed leaf differs from the stored tree's, found by walking down where
 * the stored tree and the recomputation part ways. Null when the stored tree does not
 * lead to the signed root either (it was rewritten too), or agrees with the entries.
 */
export function firstDifferingEntry(db: BetterSqlite3.Database, size: number, signedRoot: Buffer): number | null {
  const stored = new MerkleStore(db);
  if (!stored.present || stored.builtSize() < size || !stored.root(size).equals(signedRoot)) return null;
  const leaves: Buffer[] = [];
  for (const row of db.prepare('SELECT entry FROM entries WHERE seq <= ? ORDER BY seq').pluck().iterate(size) as IterableIterator<string>) {
    leaves.push(Buffer.from(leafHex(row), 'hex'));
  }
  const rec = (lo: number, hi: number): Buffer => {
    const f = new Frontier();
    for (let i = lo; i < hi; i++) f.push(leaves[i]!);
    return f.root();
  };
  const storedRange = (lo: number, hi: number): Buffer => rangeHash(lo, hi, stored.node);
  let lo = 0;
  let hi = size;
  if (rec(lo, hi).equals(signedRoot)) return null;
  while (hi - lo > 1) {
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    if (!rec(lo, lo + k).equals(storedRange(lo, lo + k))) hi = lo + k;
    else lo = lo + k;
  }
  return lo + 1;
}
