/** Characters of a value an error message quotes at most: a hostile 10 MB value is not echoed whole. */
export const QUOTE_MAX = 80;

/**
 * A value as an error message shows it: JSON text (`undefined` for what JSON cannot
 * hold), cut to `max` characters with an ellipsis. Never throws, whatever the value
 * (deep, cyclic, a bigint, a throwing Proxy).
 *
 * @example
 * quote('vm1'); // '"vm1"'
 * quote('x'.repeat(1e7)); // '"xxx…' (80 characters, then the ellipsis)
 */
export function quote(v: unknown, max = QUOTE_MAX): string {
  let text: string;
  try {
    // A long string is cut before it is escaped: escaping 10 MB costs as much as the value.
    text = typeof v === 'string' ? JSON.stringify(v.slice(0, max + 1)) : String(JSON.stringify(v));
  } catch {
    text = `(a ${typeof v} JSON cannot show)`;
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A field name as a message shows it between its own quotes: JSON-escaped, cut to
 * `max` characters with an ellipsis.
 *
 * @example
 * `unknown field "${quoteKey('vm\n')}"`; // 'unknown field "vm\\n"'
 */
export function quoteKey(k: string, max = QUOTE_MAX): string {
  const text = JSON.stringify(k.slice(0, max + 1)).slice(1, -1);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
