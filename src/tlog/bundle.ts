import { parseCheckpoint, type CheckpointBody } from './checkpoint.js';
import { ALG_ED25519, type NoteVerifier } from './keys.js';
import { hashLeaf } from './merkle.js';
import { openNote } from './note.js';
import { verifyInclusion } from './proof.js';

/** The format tag of an offline bundle. */
export const BUNDLE_FORMAT = 'pasid-ledger-bundle/1';

/** One entry of a bundle: its exact canonical text and its inclusion proof in the checkpoint's tree. */
export interface BundleEntry {
  seq: number;
  /** The entry's canonical JSON text, as the log hashed it. */
  entry: string;
  /** Base64 inclusion proof of leaf seq - 1 in the tree of the checkpoint's size, from the leaf up. */
  proof: string[];
}

/** A self-contained proof that some entries belong to a log whose signed checkpoint it carries. */
export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  /** The signed note (C2SP tlog-checkpoint) the proofs lead to. */
  checkpoint: string;
  entries: BundleEntry[];
}

/** What a good bundle proves. */
export interface BundleProof {
  checkpoint: CheckpointBody;
  signers: string[];
  entries: Array<{ seq: number; entry: string }>;
}

/** A bad bundle: what is wrong and, when it is one entry, which. */
export interface BundleProblem {
  seq: number | null;
  problem: string;
}

/**
 * Checks a bundle with no database: the checkpoint's signature by one of `logKeys`,
 * each entry's leaf recomputed from its text, its seq inside the text, each inclusion
 * proof against the signed root, and that the entries run without gap.
 *
 * @returns what was proved, or the first problem (naming the entry when it is one).
 * @example
 * verifyBundle(readFileSync('incident.json', 'utf8'), [logKey]);
 */
export function verifyBundle(text: string, logKeys: readonly NoteVerifier[]): BundleProof | BundleProblem {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { seq: null, problem: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { seq: null, problem: 'not a JSON object' };
  const b = v as Record<string, unknown>;
  if (b.format !== BUNDLE_FORMAT) return { seq: null, problem: `not a ${BUNDLE_FORMAT} file` };
  if (typeof b.checkpoint !== 'string') return { seq: null, problem: 'checkpoint must be the signed note text' };
  const opened = openNote(b.checkpoint, logKeys.filter((k) => k.alg === ALG_ED25519));
  if (typeof opened === 'string') return { seq: null, problem: `checkpoint: ${opened}` };
  if (opened.good.length === 0) return { seq: null, problem: 'the checkpoint is not signed by the given log key (another key signed it)' };
  const cp = parseCheckpoint(opened.text);
  if (typeof cp === 'string') return { seq: null, problem: `checkpoint: ${cp}` };
  if (!Array.isArray(b.entries) || b.entries.length === 0) return { seq: null, problem: 'entries must be a non-empty array' };
  const out: BundleProof['entries'] = [];
  let prev: number | null = null;
  for (const [i, raw] of (b.entries as unknown[]).entries()) {
    const e = raw as Partial<BundleEntry> | null;
    if (typeof e !== 'object' || e === null || !Number.isSafeInteger(e.seq) || typeof e.entry !== 'string' || !Array.isArray(e.proof)) {
      return { seq: null, problem: `entries[${i}] must have seq, entry (text) and proof (array)` };
    }
    const seq = e.seq!;
    if (prev !== null && seq !== prev + 1) return { seq, problem: `entry ${seq} follows entry ${prev}: the entries are out of order or one is missing` };
    if (seq < 1 || seq > cp.size) return { seq, problem: `entry ${seq} is not in the checkpoint's tree of size ${cp.size}` };
    let inner: unknown;
    try {
      inner = JSON.parse(e.entry);
    } catch {
      return { seq, problem: `entry ${seq}'s text is not JSON (edited)` };
    }
    if ((inner as { seq?: unknown } | null)?.seq !== seq) return { seq, problem: `entry ${seq}'s text says seq ${String((inner as { seq?: unknown } | null)?.seq)} (entries swapped or edited)` };
    if (!e.proof.every((h) => typeof h === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(h))) return { seq, problem: `entry ${seq}'s proof must be base64 strings` };
    const bad = verifyInclusion(seq - 1, cp.size, hashLeaf(e.entry), e.proof.map((h) => Buffer.from(h as string, 'base64')), cp.root);
    if (bad) return { seq, problem: `entry ${seq} is not in the signed tree: ${bad} (its text or its proof was altered)` };
    out.push({ seq, entry: e.entry });
    prev = seq;
  }
  return { checkpoint: cp, signers: opened.good.map((g) => g.name), entries: out };
}
