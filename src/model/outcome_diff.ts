/**
 * Comparing what the log recorded for a request with what `decide` decides for it again:
 * `replay --verify` and the audit's check S6 both ask it, with one rule.
 */

/** Entry fields that are not part of a request's outcome: where, when and through what it was asked (`by`, a server token). */
export const NOT_OUTCOME: ReadonlySet<string> = new Set(['seq', 'at', 'type', 'op', 'req', 'id', 'by']);
/** Transition fields the ledger adds to a decided transition. */
export const NOT_DRAFT: ReadonlySet<string> = new Set(['seq', 'at', 'type', 'cause']);

/**
 * A copy of `e` without the fields in `drop`.
 *
 * @example
 * stripped({ seq: 3, ret: 0 }, NOT_OUTCOME); // { ret: 0 }
 */
export function stripped(e: object, drop: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Object.keys, not Object.entries: no pair array per field (the audit strips every entry).
  for (const k of Object.keys(e)) if (!drop.has(k)) out[k] = (e as Record<string, unknown>)[k];
  return out;
}

/** Structural equality of JSON values, key order ignored (as canonical JSON compares them); a field holding undefined is absent. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // Counted, not filtered into arrays: this runs for every field of every re-decided request.
  let n = 0;
  for (const k of Object.keys(ao)) {
    const v = ao[k];
    if (v === undefined) continue;
    n++;
    if (!same(v, bo[k])) return false;
  }
  for (const k of Object.keys(bo)) if (bo[k] !== undefined) n--;
  return n === 0;
}

/** What a key of `decided` missing from the stripped copy reads there: undefined unless `Object.prototype` has it. */
const BARE: Record<string, unknown> = {};

/**
 * `firstDifference(stripped(recorded, drop), decided)` without building the copy: the
 * fields are compared where they are, and only when one differs is the copy built to
 * name the first in sorted order. Fields of `decided` named `skip` are not compared
 * (the decision's `transitions`, compared one by one afterwards).
 *
 * @example
 * entryDifference({ seq: 3, ret: 0 }, NOT_OUTCOME, { ret: 0, transitions: [] }, 'transitions'); // null
 */
export function entryDifference(recorded: object, drop: ReadonlySet<string>, decided: object, skip?: string): { field: string; recorded: unknown; decided: unknown } | null {
  const r = recorded as Record<string, unknown>;
  const d = decided as Record<string, unknown>;
  let differs = false;
  for (const k of Object.keys(r)) {
    if (drop.has(k)) continue;
    if (!same(r[k], k === skip ? BARE[k] : d[k])) {
      differs = true;
      break;
    }
  }
  if (!differs) {
    for (const k of Object.keys(d)) {
      if (k === skip) continue;
      // Compared above when the copy keeps it; otherwise the copy has no such field.
      if (!drop.has(k) && Object.hasOwn(r, k)) continue;
      if (d[k] !== undefined || BARE[k] !== undefined) {
        differs = true;
        break;
      }
    }
  }
  if (!differs) return null;
  const mine = skip === undefined ? d : stripped(d, new Set([skip]));
  return firstDifference(stripped(r, drop), mine);
}

const own = Object.prototype.hasOwnProperty;

/** Whether every field of either record is the same in the other: the common case, without building the sorted union of their keys. */
function sameFields(recorded: Record<string, unknown>, decided: Record<string, unknown>): boolean {
  for (const k of Object.keys(recorded)) if (!same(recorded[k], decided[k])) return false;
  for (const k of Object.keys(decided)) if (!own.call(recorded, k) && !same(recorded[k], decided[k])) return false;
  return true;
}

/**
 * The first field (in sorted order) whose value differs; an absent field and an undefined one are alike.
 *
 * @example
 * firstDifference({ ret: 0 }, { ret: -14 }); // { field: 'ret', recorded: 0, decided: -14 }
 */
export function firstDifference(recorded: Record<string, unknown>, decided: Record<string, unknown>): { field: string; recorded: unknown; decided: unknown } | null {
  if (sameFields(recorded, decided)) return null;
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(decided)])].sort();
  for (const k of keys) {
    if (!same(recorded[k], decided[k])) return { field: k, recorded: recorded[k] ?? null, decided: decided[k] ?? null };
  }
  return null;
}

/** A recorded or decided value as a message shows it. */
export function show(v: unknown): string {
  return v === null || v === undefined ? 'absent' : JSON.stringify(v);
}
