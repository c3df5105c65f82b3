import { decide } from '../model/decide.js';
import { parseRequest, REQUEST_OPS } from '../model/request.js';
import type { HostState } from '../model/state.js';
import type { RequestEntry, TransitionDraft, TransitionEntry } from '../model/types.js';
import { entryDifference, NOT_DRAFT, NOT_OUTCOME, show } from '../model/outcome_diff.js';


/**
 * Check S6 of the audit, one request at a time: re-decides each recorded request with
 * the model against the state the log built before it, and holds its recorded outcome
 * and transitions to the decided ones. An accepted request must cause exactly the
 * transitions it decides (a PASID ALLOC: one pasid ALLOC of the PASID it returned; a
 * vm start: the vm's transition), a rejected one none. Returns problems as sentences.
 *
 * @example
 * const d = new DecisionCheck();
 * d.request(state, entry);     // null, or 'request 12 (pasid_alloc): ret is 3 in the log, 2 decided'
 * d.transition(t);             // for each transition that follows
 * d.end();                     // at the next request: 'request 12 ... causes 1 transition; the log has 0'
 */
export class DecisionCheck {
  private pending: { seq: number; op: string; expected: TransitionDraft[]; next: number } | null = null;

  /** A request entry, before it is evolved in. Ends the previous request (see `end`). */
  request(s: HostState, e: RequestEntry): string[] {
    const out = this.end();
    // A later profile's op is not judged (as the rest of the audit does not judge it).
    if (!(REQUEST_OPS as readonly string[]).includes(e.op)) return out;
    let decided;
    try {
      decided = decide(s, parseRequest(e.req));
    } catch (err) {
      out.push(`request ${e.seq} (${String(e.op)}) cannot be decided: ${(err as Error).message}`);
      return out;
    }
    const diff = entryDifference(e, NOT_OUTCOME, decided, 'transitions');
    if (diff) out.push(`request ${e.seq} (${e.op}): ${diff.field} is ${show(diff.recorded)} in the log, ${show(diff.decided)} decided against the state before it`);
    this.pending = { seq: e.seq, op: e.op, expected: decided.transitions, next: 0 };
    return out;
  }

  /** A transition entry: the next one its request must cause. */
  transition(t: TransitionEntry): string | null {
    const p = this.pending;
    if (!p || t.cause !== p.seq) return null; // a transition not caused by the request it follows: S1's business
    const want = p.expected[p.next++];
    if (!want) return `request ${p.seq} (${p.op}) decided causes ${p.expected.length} transition(s); the log has more: ${t.machine} ${t.event} at seq ${t.seq}`;
    const diff = entryDifference(t, NOT_DRAFT, want);
    return diff ? `transition ${p.next} of request ${p.seq} (${p.op}): ${diff.field} is ${show(diff.recorded)} in the log, ${show(diff.decided)} decided` : null;
  }

  /** The end of the current request (another entry, or the end of the log): the transitions it did not cause. */
  end(): string[] {
    const p = this.pending;
    this.pending = null;
    if (!p || p.next >= p.expected.length) return [];
    const missing = p.expected.slice(p.next).map((t) => `${t.machine} ${t.event}${t.machine === 'pasid' ? ` of PASID ${t.pasid}` : ''}`);
    return [`request ${p.seq} (${p.op}) decided causes ${p.expected.length} transition(s); the log has ${p.next}: missing ${missing.join(', ')}`];
  }

  /** The seq of the request whose transitions are awaited, or null. */
  get current(): number | null {
    return this.pending?.seq ?? null;
  }
}




