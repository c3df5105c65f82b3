import { EINVAL, EPERM } from '../../uapi/errno.js';
import { groupGuards } from '../../../machines/group.js';
import { detachGroup } from '../cascade.js';
import { accept, refuse, type Decision } from '../decision.js';
import { Plan } from '../plan.js';
import { containerNoiommu, type HostState } from '../state.js';
import { resolveContainer } from './caller.js';

/**
 * `VFIO_GROUP_SET_CONTAINER`: a group joins a container. A group seen for the first
 * time is created with the attributes the request gives (`iommu_backed: false` for a
 * mediated-device group, `noiommu: true` for a no-IOMMU group); a later request may
 * not change them. If the container's IOMMU is already set, the backend attaches the
 * group's domain too (which `hasIommuDomain` derives).
 */
export function groupAttach(
  s: HostState,
  req: { container: string; group: string; vm?: string; iommu_backed?: boolean; noiommu?: boolean },
): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const { c, vm } = r;
  const g = s.groups.get(req.group);
  const iommuBacked = g?.iommu_backed ?? req.iommu_backed ?? true;
  const noiommu = g?.noiommu ?? req.noiommu ?? false;
  if ((req.iommu_backed !== undefined && req.iommu_backed !== iommuBacked) || (req.noiommu !== undefined && req.noiommu !== noiommu)) {
    return refuse(-EINVAL, 'group_attributes_differ', vm);
  }
  if (groupGuards.inContainer(g?.container ?? null)) return refuse(-EINVAL, 'group_busy', vm);
  if (groupGuards.mixesNoiommu(containerNoiommu(s, c), noiommu)) return refuse(-EPERM, 'noiommu_mix', vm);
  // v7: the backend's attach of a NESTING container refuses a second group. A NESTING
  // container whose IOMMU is set always holds its one group (the last one leaving
  // unsets it), so an attach there never reaches the vfio_mm get: that happens at set iommu.
  if (s.config.profile === 'v7' && c.state === 'iommu_set' && c.iommu_type === 'VFIO_TYPE1_NESTING_IOMMU' && c.groups.length > 0) {
    return refuse(-EINVAL, 'nesting_one_group', vm);
  }
  const plan = new Plan(s);
  plan.step('group', 'SET_CONTAINER', { group: req.group, container: c.container, iommu_backed: iommuBacked, noiommu });
  return accept(plan, { ret: 0, vm });
}

/** `VFIO_GROUP_UNSET_CONTAINER`: the group leaves; the last one deprivileges the container. */
export function groupDetach(s: HostState, req: { container: string; group: string; vm?: string }): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const { c, vm } = r;
  const i = c.groups.indexOf(req.group);
  if (i < 0) return refuse(-EINVAL, 'group_not_in_container', vm);
  const plan = new Plan(s);
  detachGroup(plan, c, req.group, c.groups.length === 1);
  return accept(plan, { ret: 0, vm });
}
