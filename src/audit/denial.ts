import type { RequestEntry } from '../model/types.js';

/**
 * What a guest's virtual command sees as a failure although the register write itself
 * succeeds (`ret` 0): QEMU's VCRSP status (docs/kernel-behaviour.md section 6), recorded as the reason.
 */
export const VCMD_FAILURES: ReadonlySet<string> = new Set([
  'no_pasid_available', 'invalid_pasid', 'undefined_command', 'dropped_no_pas', 'dropped_in_progress',
]);

/**
 * The reason a request was refused, or null when it was not: a negative `ret` (the
 * errno the caller saw), or a guest virtual command whose response reports a failure.
 *
 * @example
 * deniedReason({ op: 'pasid_alloc', ret: -14, reason: 'quota_exhausted' } as RequestEntry); // 'quota_exhausted'
 * deniedReason({ op: 'pasid_alloc', ret: 0 } as RequestEntry);                              // null
 */
export function deniedReason(r: RequestEntry): string | null {
  if (typeof r.ret === 'number' && r.ret < 0) return r.reason ?? `errno_${-r.ret}`;
  if (r.op === 'vcmd_write' && r.reason !== undefined && VCMD_FAILURES.has(r.reason)) return r.reason;
  return null;
}
