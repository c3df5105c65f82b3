import type { HostState } from '../model/state.js';
import type { RequestEntry } from '../model/types.js';
import type { FindingLog } from './findings.js';
import type { QuirkLog } from './quirks.js';

/** What the checks of one entry see: the host just before it, and where to report. */
export interface AuditContext {
  /** The host as the log's entries before this one made it. */
  s: HostState;
  /** The highest PASID the configured width allows: `(1 << pasid_bits) - 1`. */
  widthMax: number;
  /** The request the current transition belongs to (its cause), when the log has it. */
  request: RequestEntry | null;
  findings: FindingLog;
  quirks: QuirkLog;
  /** ALLOCs whose request could not be read for a range (a later profile's op). */
  unchecked: number;
}

/** Whether a value is an integer in `0..0xFFFFFFFF` (a PASID or struct field): the uapi's own check. */
export { isU32 } from '../uapi/bytes.js';

/**
 * A vfio_mm for a message: `#3 (mm 0x1000 gen 1)`, or `#3` when it is not live.
 *
 * @example
 * describeVfioMm(s, 3); // '#3 (mm 0x1000 gen 1)'
 */
export function describeVfioMm(s: HostState, id: unknown): string {
  const m = typeof id === 'number' ? s.vfioMms.get(id) : undefined;
  return m ? `#${m.vfio_mm} (mm ${m.mm} gen ${m.gen})` : `#${String(id)}`;
}

/**
 * Ids as a short list for a sentence.
 *
 * @example
 * listIds([1, 2, 3, 4, 5, 6, 7], 3); // '1, 2, 3 and 4 more'
 */
export function listIds(ids: readonly number[], max = 5): string {
  const head = ids.slice(0, max).join(', ');
  return ids.length > max ? `${head} and ${ids.length - max} more` : head;
}
