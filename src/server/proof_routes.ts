import { consistencyProof, inclusionProof } from '../replay/proofs.js';
import { ReplayError } from '../replay/errors.js';
import type { MerkleStore } from '../store/tree.js';
import { jsonText } from '../text/escape.js';

/** The proof routes' paths. */
export const INCLUSION_PATH = '/v1/proof/inclusion';
export const CONSISTENCY_PATH = '/v1/proof/consistency';

/** A proof route's answer: the body `prove --json` prints, or why the query has no proof (a 400). */
export type ProofAnswer = { ok: true; text: string } | { ok: false; error: string };

const SIZE_RE = /^\d{1,15}$/;

/**
 * `GET /v1/proof/inclusion?seq=N[&size=M]` and `GET /v1/proof/consistency?old=A[&size=B]`
 * over the server's read-only connection (O(log n) reads, never the writer's). The body
 * is byte for byte what `prove --json` prints for the same question; `size` defaults to
 * `defaultSize()` (the latest signed checkpoint's size), else to the whole log.
 *
 * @example
 * const r = new ProofRoutes(tree, () => checkpointer.latest?.size);
 * r.answer('/v1/proof/inclusion', new URLSearchParams('seq=5')); // { ok: true, text: '{\n  "index": 4, ...}\n' }
 */
export class ProofRoutes {
  constructor(private readonly tree: MerkleStore, private readonly defaultSize: () => number | undefined) {}

  /** Whether a path is a proof route. */
  owns(path: string): boolean {
    return path === INCLUSION_PATH || path === CONSISTENCY_PATH;
  }

  /** The answer to one proof query. Never throws for a client's input. */
  answer(path: string, q: URLSearchParams): ProofAnswer {
    const inclusion = path === INCLUSION_PATH;
    const first = inclusion ? 'seq' : 'old';
    const a = q.get(first);
    const b = q.get('size');
    if (a === null || !SIZE_RE.test(a)) return { ok: false, error: `"${first}" must be given, a non-negative integer` };
    if (b !== null && !SIZE_RE.test(b)) return { ok: false, error: '"size" must be a non-negative integer' };
    const size = b !== null ? Number(b) : this.defaultSize();
    try {
      const proof = inclusion ? inclusionProof(this.tree, Number(a), size) : consistencyProof(this.tree, Number(a), size);
      return { ok: true, text: jsonText(proof, 2) + '\n' };
    } catch (e) {
      if (e instanceof ReplayError) return { ok: false, error: e.message };
      throw e;
    }
  }
}
