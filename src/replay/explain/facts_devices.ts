import type { HostState } from '../../model/state.js';
import { deviceFacts, groupFacts } from '../facts.js';
import type { Recorded } from './recorded.js';
import type { ExplainFacts } from './types.js';

/**
 * device_add / device_remove: the function; for an add, the group it joins and the PASID
 * capability exposure policy (which decides how the guest sees it).
 *
 * @example
 * deviceOpFacts(s, { op: 'device_remove', bdf: '0000:3b:00.0' }).facts.device?.state; // 'bound'
 */
export function deviceOpFacts(s: HostState, r: Recorded<'device_add' | 'device_remove'>): ExplainFacts {
  const device = deviceFacts(s, r.bdf);
  if (r.op === 'device_remove') return { kind: 'device', facts: { device } };
  return { kind: 'device', facts: { device, group: groupFacts(s, r.group), pasid_cap_exposure: s.config.pasid_cap_exposure } };
}
