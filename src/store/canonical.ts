import canonicalize from 'canonicalize';

/**
 * An entry as RFC 8785 (JCS) canonical JSON: the exact text that is stored and hashed.
 *
 * @throws TypeError for a value JSON cannot hold (a bug: entries are plain data).
 * @example
 * canonicalJson({ type: 'request', seq: 2 }); // '{"seq":2,"type":"request"}'
 */
export function canonicalJson(value: object): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (e) {
    // canonicalize refuses a lone surrogate and a bigint; a cycle or a deep value overflows the stack.
    throw new TypeError(`entry is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (text === undefined) throw new TypeError('entry is not JSON-serialisable');
  return text;
}

/**
 * The canonical text of an entry about to be appended, proven to read back: the text
 * parses, and what it parses to is the entry itself, as JSON data (own enumerable
 * fields of plain objects and arrays, equal leaves; a field holding `undefined` is
 * absent, as in JSON). Then the parsed value's canonical text is this same string,
 * since the canonical text is a function of the JSON value: what `verify` checks of
 * every stored entry is checked before it is stored, whoever built the entry. A
 * function, a class instance, a getter that changes its answer, a value JSON would
 * drop or alter never reaches the log. Comparing values costs a quarter of
 * canonicalising again, on the append hot path.
 *
 * @throws TypeError when the entry has no canonical text, or its text does not read
 * back as the same value.
 * @example
 * canonicalEntry({ seq: 2, type: 'request' }); // '{"seq":2,"type":"request"}'
 * canonicalEntry({ seq: 2, f: () => 1 }); // TypeError: entry 2 does not read back ...
 */
export function canonicalEntry(value: Record<string, unknown>): string {
  const text = canonicalJson(value);
  let back: unknown;
  try {
    back = JSON.parse(text);
  } catch {
    back = undefined;
  }
  if (back === undefined || !sameJson(value, back)) {
    throw new TypeError(`entry ${String(value.seq)} does not read back from its canonical JSON text (it holds something JSON cannot)`);
  }
  return text;
}

/** Whether `a` (any value) is, as JSON data, the value `b` that `JSON.parse` returned. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length || Object.getPrototypeOf(a) !== Array.prototype) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(a) as unknown;
  if ((proto !== Object.prototype && proto !== null) || Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // for-in, the fast way over a plain object's keys; an inherited enumerable key is no data.
  let n = 0;
  for (const k in ao) {
    if (!Object.hasOwn(ao, k)) return false;
    const v = ao[k];
    if (v === undefined) continue;
    n++;
    if (!sameJson(v, bo[k])) return false;
  }
  for (const k in bo) if (Object.hasOwn(bo, k)) n--;
  return n === 0;
}
