import type { RequestOp } from '../../model/ops/registry.js';
import type { HostState } from '../../model/state.js';
import type { RequestEntry } from '../../model/types.js';
import { configFacts, getInfoFacts, vcmdFacts } from './facts_guest.js';
import { deviceOpFacts } from './facts_devices.js';
import { containerCloseFacts, containerOpenFacts, groupOpFacts, setIommuFacts, vmLifecycleFacts } from './facts_lifecycle.js';
import { pasidFacts, unknownOpFacts } from './facts_pasid.js';
import { pasidQuotaFacts } from './facts_quota.js';
import { requestOf, type Recorded } from './recorded.js';
import type { ExplainFacts } from './types.js';

type Builder<O extends RequestOp> = (s: HostState, r: Recorded<O>) => ExplainFacts;

/** The fact builder of every op: an op added to the registry without one here is a compile error. */
const BUILDERS: { [O in RequestOp]: Builder<O> } = {
  vm_start: vmLifecycleFacts,
  vm_exit: vmLifecycleFacts,
  vm_crash: vmLifecycleFacts,
  container_open: containerOpenFacts,
  container_close: containerCloseFacts,
  group_attach: groupOpFacts,
  group_detach: groupOpFacts,
  set_iommu: setIommuFacts,
  pasid_alloc: pasidFacts,
  pasid_free: pasidFacts,
  pasid_request: pasidFacts,
  set_pasid_quota: pasidQuotaFacts,
  get_info: getInfoFacts,
  vcmd_write: vcmdFacts,
  vcmd_read: vcmdFacts,
  device_add: deviceOpFacts,
  device_remove: deviceOpFacts,
  config_read: configFacts,
  config_write: configFacts,
} satisfies Record<RequestOp, unknown>;

function factsOf<O extends RequestOp>(s: HostState, op: O, r: Recorded<O>): ExplainFacts {
  const build: Builder<O> = BUILDERS[op];
  return build(s, r);
}

/**
 * The deciding facts of a request, from the host just before it, by op family (the
 * entry's request read by `requestOf`: a field of the wrong type reads as absent; an op
 * this code does not know gets the `unknown_op` facts). Pure; never throws.
 *
 * @example
 * requestFacts(replayTo(db, { seq: 40 }), entry41).facts; // { container: {...}, vfio_mm: { vfio_mm: 1, held: 4, ... }, ... }
 */
export function requestFacts(s: HostState, e: RequestEntry): ExplainFacts {
  const r = requestOf(e);
  return r ? factsOf(s, r.op, r) : unknownOpFacts(s, e.req);
}
