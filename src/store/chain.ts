import { chainHash, GENESIS_CHAIN, leafHash } from './hash.js';

/** What `ChainStep.check` found: the row hashes (null), or which of its hashes does not, with the recomputed values. */
export interface ChainProblem {
  what: 'leaf' | 'chain';
  /** The leaf the text hashes to. */
  leaf: string;
  /** The chain that follows from the entries before it and this leaf. */
  chain: string;
}

/**
 * The hash chain, followed one entry at a time: the one place where a leaf and a chain
 * are computed from an entry's text. The writer asks `next` (append), every checker
 * asks `check` (the catch-up with `--check-chain`, `verify`, the audit's S4, the fleet
 * shipper): so what is verified is exactly what was written.
 *
 * @example
 * const step = new ChainStep();           // before entry 1: 32 zero bytes
 * const { leaf, chain } = step.next(text); // entry 1's hashes; the step moves on
 * step.check(row);                         // null when row 2's leaf and chain follow
 */
export class ChainStep {
  constructor(public chain: string = GENESIS_CHAIN) {}

  /** The leaf (hex and bytes) and chain of the next entry, whose canonical text is `text`; moves on to it. */
  next(text: string): { leaf: string; leafBytes: Buffer; chain: string } {
    const leaf = leafHash(text);
    const leafBytes = Buffer.from(leaf, 'hex');
    this.chain = chainHash(this.chain, leaf);
    return { leaf, leafBytes, chain: this.chain };
  }

  /**
   * Checks a stored row as the next entry: null when its leaf hashes from its text and
   * its chain follows, else what does not. Moves on to the row's stored chain either
   * way, so that one bad row is one finding, not one per row after it.
   */
  check(row: { entry: string; leaf: string; chain: string }): ChainProblem | null {
    return this.checkText(row.entry, row.leaf, row.chain);
  }

  /** `check` of a row given as its three columns (a replay reads rows as arrays). */
  checkText(entry: string, storedLeaf: string, storedChain: string): ChainProblem | null {
    // The hex digest straight from the hash: half the cost of the bytes then their hex.
    const leaf = leafHash(entry);
    const chain = chainHash(this.chain, leaf);
    this.chain = storedChain;
    if (leaf !== storedLeaf) return { what: 'leaf', leaf, chain };
    if (chain !== storedChain) return { what: 'chain', leaf, chain };
    return null;
  }
}
