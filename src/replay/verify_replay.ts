import { decide } from '../model/decide.js';
import { evolve } from '../model/evolve.js';
import { parseRequest } from '../model/request.js';
import { emptyState } from '../model/state.js';
import type { Entry, TransitionDraft } from '../model/types.js';
import { entryDifference, NOT_DRAFT, NOT_OUTCOME, show } from '../model/outcome_diff.js';
import { openSource, type ReplaySource } from './source.js';

/** The first entry whose recorded outcome or transitions today's code does not reproduce. */
export interface ReplayMismatch {
  /** The first seq that differs. */
  seq: number;
  /** The request it belongs to (itself, or the request that caused the transition). */
  request: number;
  /** What differs, in one line. */
  problem: string;
  /** The differing field, and its value as recorded and as decided today (absent when a whole entry is missing or extra). */
  field?: string;
  recorded?: unknown;
  decided?: unknown;
}

/** The outcome of `verifyReplay`. */
export interface ReplayVerification {
  ok: boolean;
  /** Entries read (all of them when `ok`). */
  entries: number;
  /** Requests re-decided. */
  requests: number;
  mismatch: ReplayMismatch | null;
}


/**
 * Re-decides every recorded request with today's `decide`, from the log's own
 * configuration (entry 1), against the state the recorded entries before it built,
 * and compares the outcome (ret, pasid, reason, hex, the resolved vm and any other
 * outcome field) and the transitions (machine, event, from, to and every field, in
 * order) with what the log recorded. Stops at the first entry that differs.
 * Streams the log: memory is the host's state, not the log's length.
 *
 * @throws ReplayError for a file that holds no log.
 * @example
 * verifyReplay(ledger); // { ok: true, entries: 341, requests: 185, mismatch: null }
 */
export function verifyReplay(src: ReplaySource, onProgress?: (seq: number, head: number) => void): ReplayVerification {
  const { log, config } = openSource(src);
  const head = log.head().seq;
  const s = emptyState(config);
  let requests = 0;
  let entries = 0;
  let pending: { seq: number; expected: TransitionDraft[]; next: number } | null = null;
  const fail = (m: ReplayMismatch): ReplayVerification => ({ ok: false, entries, requests, mismatch: m });
  for (const [, text] of log.rangeColumns(0, Number.MAX_SAFE_INTEGER)) {
    const e = JSON.parse(text) as Entry;
    entries++;
    if (onProgress && entries % 10_000 === 0) onProgress(e.seq, head);
    if (e.seq === 1) {
      evolve(s, e);
      continue;
    }
    if (pending && pending.next < pending.expected.length) {
      const want = pending.expected[pending.next]!;
      if (e.type !== 'transition' || e.cause !== pending.seq) {
        return fail({
          seq: e.seq, request: pending.seq,
          problem: `request ${pending.seq} decided today causes ${pending.expected.length} transitions; the log has ${pending.next}, then ${describe(e)}`,
        });
      }
      const diff = entryDifference(e, NOT_DRAFT, want);
      if (diff) {
        return fail({
          seq: e.seq, request: pending.seq, ...diff,
          problem: `transition ${pending.next + 1} of request ${pending.seq}: ${diff.field} is ${show(diff.recorded)} in the log, ${show(diff.decided)} today`,
        });
      }
      pending.next++;
      evolve(s, e);
      continue;
    }
    if (e.type === 'transition') {
      const why = pending && e.cause === pending.seq
        ? `request ${pending.seq} decided today causes ${pending.expected.length} transitions; the log has one more`
        : `a transition caused by seq ${e.cause}, which is not the request just before it`;
      return fail({ seq: e.seq, request: pending?.seq ?? e.cause, problem: why });
    }
    if (e.type === 'snapshot' || e.type === 'token') {
      // A snapshot, or a server token's grant or revocation: it ends the request before it
      // (checked above) and changes nothing in the host.
      pending = null;
      evolve(s, e);
      continue;
    }
    if (e.type !== 'request') return fail({ seq: e.seq, request: e.seq, problem: `a ${String(e.type)} entry after entry 1` });
    let decided;
    try {
      decided = decide(s, parseRequest(e.req));
    } catch (err) {
      return fail({ seq: e.seq, request: e.seq, problem: `the recorded request cannot be decided today: ${(err as Error).message}` });
    }
    requests++;
    const diff = entryDifference(e, NOT_OUTCOME, decided, 'transitions');
    if (diff) {
      return fail({
        seq: e.seq, request: e.seq, ...diff,
        problem: `request ${e.seq} (${e.op}): ${diff.field} is ${show(diff.recorded)} in the log, ${show(diff.decided)} today`,
      });
    }
    pending = { seq: e.seq, expected: decided.transitions, next: 0 };
    evolve(s, e);
  }
  if (pending && pending.next < pending.expected.length) {
    return fail({
      seq: pending.seq, request: pending.seq,
      problem: `request ${pending.seq} decided today causes ${pending.expected.length} transitions; the log ends after ${pending.next}`,
    });
  }
  onProgress?.(head, head);
  return { ok: true, entries, requests, mismatch: null };
}




function describe(e: Entry): string {
  if (e.type === 'transition') return `a ${e.machine} ${e.event} transition caused by seq ${e.cause}`;
  return `a ${e.type} entry`;
}

