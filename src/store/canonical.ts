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
 * parses, and the parsed value's canonical text is the same string. What `verify`
 * checks of every stored entry is thus checked before it is stored, whoever built the
 * entry: a value JSON would alter (`undefined`, a function, `NaN`, a getter, a
 * non-plain object) never reaches the log.
 *
 * @throws TypeError when the entry has no canonical text, or its text does not read
 * back as the same value.
 * @example
 * canonicalEntry({ seq: 2, type: 'request' }); // '{"seq":2,"type":"request"}'
 * canonicalEntry({ seq: 2, f: () => 1 }); // TypeError: entry 2 does not read back ...
 */
export function canonicalEntry(value: Record<string, unknown>): string {
  const text = canonicalJson(value);
  let again: string | undefined;
  try {
    again = canonicalize(JSON.parse(text));
  } catch {
    again = undefined;
  }
  if (again !== text) throw new TypeError(`entry ${String(value.seq)} does not read back from its canonical JSON text (it holds something JSON cannot)`);
  return text;
}
