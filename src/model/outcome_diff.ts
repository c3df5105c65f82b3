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

/** Structural equality of JSON values, key order ignored (as canonical JSON compares them). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
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
