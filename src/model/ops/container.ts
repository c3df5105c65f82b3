import { EEXIST, EINVAL, ENODEV, ENOSPC, ESRCH } from '../../uapi/errno.js';
import { VFIO_IOMMU_TYPES } from '../../uapi/vfio.js';
import { containerGuards } from '../../../machines/container.js';
import { vfioMmGuards } from '../../../machines/vfio_mm.js';
import { vmGuards } from '../../../machines/vm.js';
import { closeContainer } from '../cascade.js';
import { accept, refuse, type Decision } from '../decision.js';
import { Plan } from '../plan.js';
import { containerNoiommu, type ContainerState, type HostState } from '../state.js';
import { resolveContainer } from './caller.js';

/** A vm opens `/dev/vfio/vfio`: a new container with no IOMMU and no groups. */
export function containerOpen(s: HostState, req: { vm: string; container: string }): Decision {
  const vm = s.vms.get(req.vm);
  if (!vm) return refuse(-ESRCH, 'no_such_vm', req.vm);
  if (!vmGuards.isRunning(vm.state)) return refuse(-ESRCH, 'vm_not_running', req.vm);
  if (s.containers.has(req.container)) return refuse(-EEXIST, 'container_exists', req.vm);
  const plan = new Plan(s);
  plan.step('container', 'OPEN', { container: req.container, vm: req.vm });
  return accept(plan, { ret: 0, vm: req.vm });
}

/** Closing the fd: its groups detach (each cascade in full), then it is closed. */
export function containerClose(s: HostState, req: { container: string; vm?: string }): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const plan = new Plan(s);
  closeContainer(plan, r.c);
  return accept(plan, { ret: 0, vm: r.vm });
}

/** The iommu type a request names, as the kernel's number and canonical name, or null. */
export function iommuType(type: string | number): { value: number; name: string } | null {
  for (const [name, value] of Object.entries(VFIO_IOMMU_TYPES)) {
    if (type === name || type === value) return { value, name };
  }
  return null;
}

/** The backends this host has: type1 (three flavours) and the no-IOMMU driver. */
const TYPE1 = new Set(['VFIO_TYPE1_IOMMU', 'VFIO_TYPE1v2_IOMMU', 'VFIO_TYPE1_NESTING_IOMMU']);

/**
 * `VFIO_SET_IOMMU` (v1): a container with groups and no driver yet gets the type1
 * backend, whose open takes the vfio_mm of the CALLING process's mm (found: ref + 1;
 * not found: created with the current `pasid_quota`). The container keeps that
 * vfio_mm whoever issues later requests. A vfio_mm that cannot be created (capacity)
 * leaves the container without one, and the ioctl still succeeds (quirk).
 */
export function setIommu(s: HostState, req: { container: string; type: string | number; vm?: string }): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const { c, vm } = r;
  if (containerGuards.iommuSet(c.state)) return refuse(-EINVAL, 'iommu_already_set', vm);
  if (!containerGuards.hasGroups(c.groups)) return refuse(-EINVAL, 'no_groups', vm);
  const type = iommuType(req.type);
  if (!type || !(TYPE1.has(type.name) || type.name === 'VFIO_NOIOMMU_IOMMU')) return refuse(-ENODEV, 'unknown_iommu_type', vm);
  // vfio_ioctl_set_iommu only offers a no-IOMMU container to the no-IOMMU driver, and back.
  if ((type.name === 'VFIO_NOIOMMU_IOMMU') !== (containerNoiommu(s, c) === true)) return refuse(-ENODEV, 'noiommu_mismatch', vm);
  const plan = new Plan(s);
  plan.step('container', 'SET_IOMMU', { container: c.container, vm: c.vm, iommu_type: type.name });
  if (type.name === 'VFIO_NOIOMMU_IOMMU') return accept(plan, { ret: 0, vm });
  const caller = s.vms.get(vm);
  if (!caller) throw new Error(`bug: caller ${vm} resolved but unknown`);
  if (s.config.profile === 'v7') return setIommuV7(plan, c, vm, caller.mm, type.name);
  const reason = getVfioMm(plan, caller.mm, c);
  return accept(plan, { ret: 0, vm, reason });
}

/**
 * `VFIO_SET_IOMMU` of v7: the vfio core attaches the container's groups to the new
 * backend one by one (`vfio_iommu_type1_attach_group`). For a NESTING container that
 * attach takes the vfio_mm of the calling process (v7 07/16) for a group with an IOMMU
 * domain (an mdev group takes the external-domain path, before it), and a NESTING
 * container takes one group only: the second attach is -EINVAL. A failing attach
 * unwinds the ones before it and the ioctl fails: nothing changes. So the first group's
 * vfio_mm failure (-ENOSPC, capacity) is seen before the second group's -EINVAL.
 * TYPE1 and TYPE1v2 containers never get a vfio_mm in v7.
 */
function setIommuV7(plan: Plan, c: ContainerState, vm: string, mm: string, type: string): Decision {
  if (type !== 'VFIO_TYPE1_NESTING_IOMMU') return accept(plan, { ret: 0, vm });
  const s = plan.state;
  for (const [i, id] of c.groups.entries()) {
    if (i > 0) return refuse(-EINVAL, 'nesting_one_group', vm);
    const g = s.groups.get(id);
    if (!g || !g.iommu_backed || g.noiommu) continue;
    const failed = getVfioMm(plan, mm, c);
    if (failed) return refuse(-ENOSPC, failed, vm);
  }
  return accept(plan, { ret: 0, vm });
}

/**
 * `vfio_mm_get_from_task`: the live vfio_mm of `mm` gains a reference, or a new one
 * is created, reserving the current `pasid_quota` from capacity. Returns the reason
 * to record when creation fails for capacity (the caller decides what that means).
 */
export function getVfioMm(plan: Plan, mm: string, c: ContainerState): 'capacity_exhausted' | undefined {
  const s = plan.state;
  const live = s.liveByMm.get(mm);
  if (live !== undefined) {
    const refs = plan.refsOf(live) + 1;
    plan.step('vfio_mm', 'GET', { vfio_mm: live, mm, container: c.container, refs });
    plan.setRefs(live, refs);
    return undefined;
  }
  const quota = s.pasidQuota;
  if (vfioMmGuards.capacityExhausted(quota, s.capacityAvail)) return 'capacity_exhausted';
  const id = s.lastVfioMm + 1;
  plan.step('vfio_mm', 'CREATE', {
    vfio_mm: id, mm, gen: (s.mmGen.get(mm) ?? 0) + 1, container: c.container, refs: 1, quota, set_quota: quota,
  });
  plan.setRefs(id, 1);
  return undefined;
}
