import type { Plan } from './plan.js';
import type { ContainerState } from './state.js';

/**
 * The cascades of docs/kernel-behaviour.md section 3, shared by every request that tears
 * something down. Each step is its own transition, in the kernel's order.
 */

/**
 * `vfio_mm_put`: the last reference frees every PASID still in the set, lowest id
 * first (`ioasid_free_set` walks the xarray in order), destroys the set, returns its
 * quota to capacity and releases the vfio_mm.
 */
export function putVfioMm(plan: Plan, vfioMm: number, container: string): void {
  const mm = plan.state.vfioMms.get(vfioMm);
  if (!mm) throw new Error(`bug: put of vfio_mm ${vfioMm}, which is not live`);
  const refs = plan.refsOf(vfioMm);
  if (refs > 1) {
    plan.step('vfio_mm', 'PUT', { vfio_mm: vfioMm, mm: mm.mm, container, refs: refs - 1 });
    plan.setRefs(vfioMm, refs - 1);
    return;
  }
  for (const pasid of [...mm.pasids].sort((a, b) => a - b)) {
    plan.step('pasid', 'FREE', { pasid, vfio_mm: vfioMm, mm: mm.mm });
  }
  plan.step('vfio_mm', 'RELEASE', {
    vfio_mm: vfioMm, mm: mm.mm, container, refs: 0, freed: mm.pasids.size, set_quota: mm.set_quota,
  });
  plan.setRefs(vfioMm, 0);
}

/**
 * `__vfio_group_unset_container`: the group leaves; the last group leaving
 * deprivileges the container (its backend is released, which puts its vfio_mm).
 */
export function detachGroup(plan: Plan, c: ContainerState, group: string, last: boolean): void {
  plan.step('group', 'UNSET_CONTAINER', { group, container: c.container });
  if (!last || c.state !== 'iommu_set') return;
  plan.step('container', 'LAST_GROUP_DETACH', { container: c.container, vm: c.vm });
  if (c.vfio_mm !== null) putVfioMm(plan, c.vfio_mm, c.container);
}

/** Closing a container fd: every group detaches, in attach order, then the fd is gone. */
export function closeContainer(plan: Plan, c: ContainerState): void {
  c.groups.forEach((g, i) => detachGroup(plan, c, g, i === c.groups.length - 1));
  plan.step('container', 'CLOSE', { container: c.container, vm: c.vm });
}
