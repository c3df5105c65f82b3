import type { EntryLog } from '../store/log.js';
import { ReplayError } from './errors.js';

/** A moment of the log: just after entry `seq`, or after the last entry stamped at or before `at`. */
export type Point = { seq: number } | { at: string };

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An ISO-8601 time as the log stamps it (UTC, milliseconds: `2026-01-01T10:42:00.000Z`).
 * A date alone is midnight UTC; a time must name its zone (`Z` or `+02:00`).
 *
 * @throws ReplayError for anything else.
 * @example
 * normaliseTime('2026-01-01T12:42+02:00'); // '2026-01-01T10:42:00.000Z'
 */
export function normaliseTime(text: string): string {
  const ms = ISO.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new ReplayError(`${JSON.stringify(text)} is not an ISO-8601 time such as 2026-01-01T10:42:00Z (a time needs its zone)`);
  return new Date(ms).toISOString();
}

/**
 * Parses a command-line moment: digits are a seq, anything else an ISO-8601 time.
 *
 * @throws ReplayError for a malformed time.
 * @example
 * parsePoint('120');                  // { seq: 120 }
 * parsePoint('2026-01-01T00:02:00Z'); // { at: '2026-01-01T00:02:00.000Z' }
 */
export function parsePoint(text: string): Point {
  if (/^\d+$/.test(text)) return { seq: Number(text) };
  return { at: normaliseTime(text) };
}

/**
 * The seq a moment names in this log. For a time: the last entry stamped at or
 * before it (entries are stamped by the writer's clock as they are appended).
 *
 * @throws ReplayError for a seq the log does not have, or a time before its first entry.
 * @example
 * resolvePoint(log, { at: '2026-01-01T00:02:00Z' }); // 121
 */
export function resolvePoint(log: EntryLog, p: Point): number {
  const head = log.head().seq;
  if ('seq' in p) {
    if (!Number.isSafeInteger(p.seq) || p.seq < 1 || p.seq > head) {
      throw new ReplayError(`seq ${p.seq} is not in the log (it holds entries 1 to ${head})`);
    }
    return p.seq;
  }
  const at = normaliseTime(p.at);
  const row = log.db.prepare('SELECT seq FROM entries WHERE at <= ? ORDER BY seq DESC LIMIT 1').get(at) as { seq: number } | undefined;
  if (!row) {
    const first = log.row(1);
    throw new ReplayError(`no entry at or before ${at}: the log starts at ${first ? (JSON.parse(first.entry) as { at: string }).at : '(empty)'}`);
  }
  return row.seq;
}

/** A request entry and the span of entries it caused: its transitions are `seq + 1 .. last`. */
export interface RequestSpan {
  seq: number;
  op: string;
  /** The last entry the request caused; `seq` itself when it caused none. */
  last: number;
}

/**
 * The request a seq belongs to: the request entry itself, or the request that caused the
 * transition at `seq`. Null for the configuration entry and for entries no request caused.
 * A request's transitions follow it directly (one transaction), so the span is contiguous.
 *
 * @example
 * requestSpan(log, 53); // { seq: 53, op: 'pasid_alloc', last: 53 } (refused: no transitions)
 */
export function requestSpan(log: EntryLog, seq: number): RequestSpan | null {
  const row = log.row(seq);
  if (!row) return null;
  const e = JSON.parse(row.entry) as { type: string; op?: string; cause?: number };
  const at = e.type === 'request' ? seq : e.type === 'transition' && typeof e.cause === 'number' ? e.cause : null;
  if (at === null) return null;
  const req = at === seq ? e : (JSON.parse(log.row(at)?.entry ?? '{}') as { type?: string; op?: string });
  if (req.type !== 'request') return null;
  const last = (log.db.prepare('SELECT max(seq) AS last FROM entries WHERE cause = ?').get(at) as { last: number | null }).last;
  return { seq: at, op: String(req.op), last: last ?? at };
}
