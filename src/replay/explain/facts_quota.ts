import type { HostState } from '../../model/state.js';
import type { Recorded } from './recorded.js';
import type { ExplainFacts } from './types.js';

/**
 * set_pasid_quota: the profile (v1 adjusts live sets lazily, v7 does not), the quota
 * before it, the value asked and who asked.
 *
 * @example
 * pasidQuotaFacts(s, { op: 'set_pasid_quota', value: 12, actor: 'admin' }).facts; // { profile: 'v1', pasid_quota: 8, value: 12, actor: 'admin' }
 */
export function pasidQuotaFacts(s: HostState, r: Recorded<'set_pasid_quota'>): ExplainFacts {
  return { kind: 'pasid_quota', facts: { profile: s.config.profile, pasid_quota: s.pasidQuota, value: r.value, actor: r.actor ?? null } };
}
