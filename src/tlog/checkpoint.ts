import { HASH_SIZE } from './merkle.js';

/** A C2SP tlog-checkpoint body: the log's origin, its size, its RFC 6962 root. */
export interface CheckpointBody {
  origin: string;
  size: number;
  root: Buffer;
  /** Extension lines after the root (we write none, and keep what others wrote). */
  extensions: string[];
}

/**
 * The checkpoint body text: origin, decimal size, base64 root, each line ending in "\n".
 *
 * @example
 * formatCheckpoint({ origin: 'example.com/log', size: 5, root, extensions: [] });
 * // 'example.com/log\n5\n<base64>\n'
 */
export function formatCheckpoint(c: { origin: string; size: number; root: Uint8Array }): string {
  return `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`;
}

/**
 * Parses a checkpoint body (the text of a signed note).
 *
 * @returns the body, or what is malformed.
 */
export function parseCheckpoint(text: string): CheckpointBody | string {
  if (!text.endsWith('\n')) return 'the checkpoint does not end in a newline';
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return 'a checkpoint has at least three lines (origin, size, root)';
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) return 'the origin line is empty';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) return `the size ${JSON.stringify(size.slice(0, 30))} is not a decimal integer`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(root)) return 'the root is not base64';
  const r = Buffer.from(root, 'base64');
  if (r.length !== HASH_SIZE || r.toString('base64') !== root) return `the root is not ${HASH_SIZE} bytes of base64`;
  return { origin, size: Number(size), root: r, extensions };
}
