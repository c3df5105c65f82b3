import type { Outcome } from '../model/types.js';

/**
 * An outcome as `run --json` prints it: seq, ret, pasid, reason, then hex, value and
 * info where they apply (a `replayed` marker is not part of it).
 *
 * @example
 * outcomeView({ seq: 5, ret: 0, pasid: 1, reason: null }); // { seq: 5, ret: 0, pasid: 1, reason: null }
 */
export function outcomeView(o: Outcome): Record<string, unknown> {
  return {
    seq: o.seq, ret: o.ret, pasid: o.pasid, reason: o.reason,
    ...(o.hex !== undefined ? { hex: o.hex } : {}),
    ...(o.value !== undefined ? { value: o.value } : {}),
    ...(o.info !== undefined ? { info: o.info } : {}),
  };
}
