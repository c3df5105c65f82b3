import { EINVAL, EPERM } from '../../uapi/errno.js';
import { moduleParamGuards } from '../../../machines/module_param.js';
import { accept, refuse, type Decision } from '../decision.js';
import { Plan } from '../plan.js';
import type { HostState } from '../state.js';

/**
 * An admin writes the `pasid_quota` module parameter. v1 takes any non-negative int
 * and applies it lazily, at each vfio_mm's next ALLOC; v7 makes it read-only after
 * load (-EPERM). Either way the request, with its actor, is in the log.
 */
export function setPasidQuota(s: HostState, req: { value: number; actor?: string }): Decision {
  if (s.config.profile === 'v7') return refuse(-EPERM, 'read_only');
  if (!moduleParamGuards.validQuota(req.value)) return refuse(-EINVAL, 'bad_value');
  if (!moduleParamGuards.namesActor(req.actor)) return refuse(-EINVAL, 'no_actor');
  const plan = new Plan(s);
  plan.step('module_param', 'SET', { name: 'pasid_quota', old: s.pasidQuota, value: req.value, actor: req.actor });
  return accept(plan, { ret: 0 });
}
