import type BetterSqlite3 from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { checkSignature, parseCheckpoint as parseJsonCheckpoint } from './checkpoint.js';
import { firstDifferingEntry, verifyWithRoot, type RootVerification } from './proofs.js';
import { verifyLog, type BadEntry, type LogVerification } from './verify.js';
import { parseCheckpoint as parseNoteCheckpoint } from '../tlog/checkpoint.js';
import { ALG_COSIGNATURE_V1, ALG_ED25519, type NoteVerifier } from '../tlog/keys.js';
import { EMPTY_ROOT } from '../tlog/merkle.js';
import { openNote } from '../tlog/note.js';

/** The keys a checkpoint is checked against. */
export interface CheckpointKeys {
  /** JSON checkpoints: the signer's trusted public key; without it, the key the checkpoint names is used. */
  pub?: KeyObject;
  /** C2SP checkpoints: the log's verifier key (type 0x01). Required for them. */
  vkey?: NoteVerifier;
  /** C2SP checkpoints: the witnesses' verifier keys (type 0x04). */
  witnesses?: readonly NoteVerifier[];
  /** How many of `witnesses` must have cosigned (default 1 when any is given, else 0). */
  minWitnesses?: number;
}

/** What was read from a C2SP checkpoint (`origin` and `size` are null until its body could be read). */
export interface NoteCheckpointRead {
  format: 'c2sp';
  origin: string | null;
  size: number | null;
  /** The names of the good signatures: the log's key, then the witnesses that cosigned. */
  signers: string[];
  witnesses: string[];
}

/** What was read from an old JSON checkpoint. */
export interface JsonCheckpointRead {
  format: 'json';
  size: number;
  chain: string;
  at: string;
}

/**
 * The judgement of one checkpoint, as a kind:
 * - `ok`: signed as required and, with a log, the log still holds the signed entries;
 * - `signature`: not signed by the required key (`why`);
 * - `witnesses`: fewer witnesses than required cosigned (`cosigned` of `needed`);
 * - `truncated`: the log ends at `entries`, before the checkpoint's size;
 * - `rewritten`: the log's root (C2SP, base64) or chain (JSON, hex) at the checkpoint's
 *   size is `found`, not the signed one; `seq` is the first entry that differs, when
 *   the stored tree can tell it;
 * - `unchecked`: the log is bad at `bad.seq`, before the checkpoint's size;
 * - `unusable`: the checkpoint or the keys cannot be checked at all (`why`): bad input.
 */
export type CheckpointVerdictKind =
  | { kind: 'ok' }
  | { kind: 'signature'; why: string }
  | { kind: 'witnesses'; cosigned: string[]; needed: number }
  | { kind: 'truncated'; entries: number }
  | { kind: 'rewritten'; seq: number | null; found: string; signed: string }
  | { kind: 'unchecked'; bad: BadEntry }
  | { kind: 'unusable'; why: string };

/**
 * A verdict with what was read: `checkpoint` (null when the text could not be read as
 * one) and `log`, the verification of the log given (null without one; for a C2SP
 * checkpoint the log is read only once its signatures check out). A verdict `ok` with
 * `log.ok` false means an entry after the checkpoint's size is bad.
 */
export type CheckpointVerdict = C2spCheckpointVerdict | JsonCheckpointVerdict;

/** The verdict on a C2SP checkpoint: the log's root recomputed from its entries. */
export type C2spCheckpointVerdict = CheckpointVerdictKind & { checkpoint: NoteCheckpointRead; log: RootVerification | null };

/** The verdict on an old JSON checkpoint: the log's chain. */
export type JsonCheckpointVerdict = CheckpointVerdictKind & { checkpoint: JsonCheckpointRead | null; log: LogVerification | null };

export interface VerifyCheckpointOptions {
  /** Called as the log's entries are verified (every 10,000 and at the end). */
  onProgress?: (seq: number, total: number) => void;
}

/** Whether a checkpoint's text is an old JSON checkpoint (else a C2SP signed note). */
export function isJsonCheckpoint(text: string): boolean {
  return text.trimStart().startsWith('{');
}

/**
 * Checks a checkpoint (a C2SP signed note, or an old JSON checkpoint) against its keys
 * and, when a log is given, that the log still extends it: the signature first (and the
 * witnesses' cosignatures), then the log's root (C2SP) or chain (JSON) recomputed from
 * its entries at the checkpoint's size. It reads the log and prints nothing; every
 * problem is a verdict kind, bad input included (`unusable`), and nothing is thrown for it.
 *
 * @example
 * const v = verifyCheckpoint(db, readFileSync('cp.note', 'utf8'), { vkey: parseVerifierKey(vkeyText) as NoteVerifier });
 * if (v.kind === 'rewritten') console.log(`entry ${v.seq} was rewritten`);
 */
export function verifyCheckpoint(
  log: BetterSqlite3.Database | null,
  checkpointText: string,
  keys: CheckpointKeys,
  opts: VerifyCheckpointOptions = {},
): CheckpointVerdict {
  return isJsonCheckpoint(checkpointText) ? verifyJsonCheckpoint(log, checkpointText, keys, opts) : verifyC2spCheckpoint(log, checkpointText, keys, opts);
}

/** `verifyCheckpoint` for an old JSON checkpoint (`keys.pub`); the log is verified before the signature is judged. */
export function verifyJsonCheckpoint(log: BetterSqlite3.Database | null, text: string, keys: CheckpointKeys, opts: VerifyCheckpointOptions = {}): JsonCheckpointVerdict {
  const cp = parseJsonCheckpoint(text);
  if (typeof cp === 'string') return { kind: 'unusable', why: cp, checkpoint: null, log: null };
  const checkpoint: JsonCheckpointRead = { format: 'json', size: cp.size, chain: cp.chain, at: cp.at };
  const r = log === null ? null : verifyLog(log, { chainAt: cp.size, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  const sig = checkSignature(cp, keys.pub);
  if (sig) return { kind: 'signature', why: sig, checkpoint, log: r };
  if (r === null) return { kind: 'ok', checkpoint, log: r };
  if (r.chainAt) {
    if (r.chainAt.chain === cp.chain) return { kind: 'ok', checkpoint, log: r };
    return { kind: 'rewritten', seq: null, found: r.chainAt.chain, signed: cp.chain, checkpoint, log: r };
  }
  return r.bad === null ? { kind: 'truncated', entries: r.size, checkpoint, log: r } : { kind: 'unchecked', bad: r.bad, checkpoint, log: r };
}

/** The log's key of `keys`, or what makes them unusable for a C2SP checkpoint. */
function logKeyOf(keys: CheckpointKeys): NoteVerifier | string {
  if (keys.vkey === undefined) return "a C2SP checkpoint needs the log's verifier key";
  if (keys.vkey.alg !== ALG_ED25519) return 'the log key must be a log key (type 0x01), not a witness key';
  for (const w of keys.witnesses ?? []) if (w.alg !== ALG_COSIGNATURE_V1) return `witness key ${w.name}: not a witness key (type 0x04)`;
  const n = keys.witnesses?.length ?? 0;
  if (minWitnesses(keys) > n) return `${minWitnesses(keys)} witnesses required, more than the ${n} witness keys given`;
  return keys.vkey;
}

const minWitnesses = (keys: CheckpointKeys): number => keys.minWitnesses ?? ((keys.witnesses?.length ?? 0) > 0 ? 1 : 0);

/** `verifyCheckpoint` for a C2SP checkpoint (`keys.vkey`, `keys.witnesses`); the log is read only once the signatures check out. */
export function verifyC2spCheckpoint(log: BetterSqlite3.Database | null, text: string, keys: CheckpointKeys, opts: VerifyCheckpointOptions = {}): C2spCheckpointVerdict {
  const checkpoint: NoteCheckpointRead = { format: 'c2sp', origin: null, size: null, signers: [], witnesses: [] };
  const logKey = logKeyOf(keys);
  if (typeof logKey === 'string') return { kind: 'unusable', why: logKey, checkpoint, log: null };
  const opened = openNote(text, [logKey, ...(keys.witnesses ?? [])]);
  if (typeof opened === 'string') return { kind: 'signature', why: opened, checkpoint, log: null };
  checkpoint.signers = opened.good.filter((g) => g.alg === ALG_ED25519).map((g) => g.name);
  checkpoint.witnesses = opened.good.filter((g) => g.alg === ALG_COSIGNATURE_V1).map((g) => g.name);
  if (checkpoint.signers.length === 0) {
    return { kind: 'signature', why: `not signed by ${logKey.name}+${logKey.keyId.toString('hex')} (signed by another key, or not at all)`, checkpoint, log: null };
  }
  const cp = parseNoteCheckpoint(opened.text);
  if (typeof cp === 'string') return { kind: 'unusable', why: cp, checkpoint, log: null };
  checkpoint.origin = cp.origin;
  checkpoint.size = cp.size;
  const needed = minWitnesses(keys);
  if (checkpoint.witnesses.length < needed) return { kind: 'witnesses', cosigned: checkpoint.witnesses, needed, checkpoint, log: null };
  if (log === null) return { kind: 'ok', checkpoint, log: null };
  const r = verifyWithRoot(log, { rootAt: cp.size, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  const signed = cp.root.toString('base64');
  if (cp.size === 0) {
    return cp.root.equals(EMPTY_ROOT) ? { kind: 'ok', checkpoint, log: r } : { kind: 'rewritten', seq: null, found: EMPTY_ROOT.toString('base64'), signed, checkpoint, log: r };
  }
  if (r.root) {
    if (r.root.root.equals(cp.root)) return { kind: 'ok', checkpoint, log: r };
    return { kind: 'rewritten', seq: firstDifferingEntry(log, cp.size, cp.root), found: r.root.root.toString('base64'), signed, checkpoint, log: r };
  }
  return r.bad === null ? { kind: 'truncated', entries: r.size, checkpoint, log: r } : { kind: 'unchecked', bad: r.bad, checkpoint, log: r };
}
