/**
 * A read-side question that has no answer in this log (a seq past its end, a time
 * before its first entry, a malformed time): bad input, not a bug. The CLI reports
 * it as one line.
 *
 * @example
 * try { replayTo(db, { seq: 10 ** 9 }); } catch (e) { if (e instanceof ReplayError) console.error(e.message); }
 */
export class ReplayError extends Error {
  override name = 'ReplayError';
}
