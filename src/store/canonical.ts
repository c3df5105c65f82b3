import canonicalize from 'canonicalize';

/**
 * An entry as RFC 8785 (JCS) canonical JSON: the exact text that is stored and hashed.
 *
 * @throws TypeError for a value JSON cannot hold (a bug: entries are plain data).
 * @example
 * canonicalJson({ type: 'request', seq: 2 }); // '{"seq":2,"type":"request"}'
 */
export function canonicalJson(value: object): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('entry is not JSON-serialisable');
  return text;
}
