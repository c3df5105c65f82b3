/**
 * Output that cannot lie: every caller-chosen string (vm, container, group, mm token, bdf,
 * actor, request id, file name) may hold bytes a terminal obeys (ESC sequences, OSC titles,
 * BEL, CR, NUL, newlines) or Unicode bidi controls that reorder what a reader sees. Each
 * human-readable output passes its names and lines through this module, so such a string
 * shows up as visible escapes and can never forge a line or drive the terminal.
 *
 * It lives in its own bottom layer (`src/text/`, importing nothing) so that the CLI, the
 * read side (`src/replay/`, `src/audit/`) and anything else may import it while imports
 * keep pointing down.
 */

/**
 * The characters that never reach an output raw: C0 controls (newline and tab included),
 * DEL, C1 controls, the bidi marks, embeddings, overrides and isolates (U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069) and the Unicode line and paragraph separators.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_TEST = new RegExp(UNSAFE.source);

const NAMED: Record<string, string> = {
  '\u0007': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\u000b': '\\v', '\f': '\\f', '\r': '\\r', '\u001b': '\\e',
};

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Whether `s` holds a character that {@link escapeControls} would rewrite. */
export function hasUnsafe(s: string): boolean {
  return UNSAFE_TEST.test(s);
}

/**
 * Rewrites every control or bidi character of `s` as a visible escape (`\n`, `\r`, `\t`,
 * `\e` for ESC, `\a` for BEL, `\x00`, `\x9b`, `\u202e`, ...) and leaves everything else,
 * backslashes included, as it is: text without such characters comes back unchanged, and
 * the result never holds one (so applying it twice changes nothing). This is the safety
 * net applied to every line a command prints; names get {@link showName} on top.
 * Never throws.
 *
 * @example
 * escapeControls('vm\x1b]0;pwned\x07'); // 'vm\\e]0;pwned\\a'
 * escapeControls('vm1\n2026-01-01 forged'); // 'vm1\\n2026-01-01 forged'
 */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/**
 * A caller-chosen name as shown to a reader. An ordinary name comes back as it is. A name
 * holding a control or bidi character, or starting with a double quote, is shown quoted,
 * `"..."`, with `\\`, `\"` and the escapes of {@link escapeControls} inside: the quotes
 * make visible that the name was escaped, and no plain name can look like an escaped one
 * (a plain name never starts with `"`). Never throws.
 *
 * @example
 * showName('vm1');              // 'vm1'
 * showName('vm1\n2026 forged'); // '"vm1\\n2026 forged"'
 * showName('"vm1\\n"');         // '"\\"vm1\\\\n\\""'
 */
export function showName(s: string): string {
  if (!s.startsWith('"') && !UNSAFE_TEST.test(s)) return s;
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeChar)}"`;
}

/**
 * Lines of human-readable output, each escaped with {@link escapeControls}, joined with
 * `\n`: whatever a line holds, it stays one line on the terminal.
 *
 * @example
 * safeLines(['vm vm1', 'mm 0x1\n2026 forged']); // 'vm vm1\nmm 0x1\\n2026 forged'
 */
export function safeLines(lines: readonly string[]): string {
  return lines.map(escapeControls).join('\n');
}

/** Characters JSON.stringify leaves raw inside strings that a terminal or a reader may still obey. */
const JSON_RAW = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `JSON.stringify(v, null, space)`, plus `\uXXXX` escapes for DEL, the C1 controls, the
 * bidi controls and U+2028/U+2029, which JSON.stringify leaves raw (it escapes C0 already).
 * These characters can only occur inside JSON strings, so the text parses back to the same
 * value. Throws what JSON.stringify throws (a cycle, a BigInt).
 *
 * @example
 * jsonText({ vm: 'a\u202eb' }); // '{"vm":"a\\u202eb"}'
 */
export function jsonText(v: unknown, space?: number): string {
  return JSON.stringify(v, null, space).replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
