import type { Decision } from './decision.js';
import { OPS } from './ops/registry.js';
import type { HostState } from './state.js';
import type { Request } from './types.js';

/**
 * What the kernel does with one request against the host as it is: the outcome the
 * caller sees and the transitions it causes, in order. Pure: reads `s`, changes nothing.
 * The request must already be well-formed (`parseRequest`). Dispatched through the op
 * registry (src/model/ops/registry.ts), whose compile-time check makes each op's decide
 * function take that op's request.
 *
 * @example
 * const d = decide(state, { op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
 * d.ret;   // 0 (v1) or the PASID (v7)
 * d.pasid; // the lowest free id in [1, 0xfffff]
 */
export function decide(s: HostState, req: Request): Decision {
  return (OPS[req.op].decide as (s: HostState, req: Request) => Decision)(s, req);
}
