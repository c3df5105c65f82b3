import { setup } from 'xstate';

/**
 * An open `/dev/vfio/vfio` fd and its type1 backend (`struct vfio_container` + `vfio_iommu`).
 *
 * `unset`: no IOMMU driver; `iommu_set`: VFIO_SET_IOMMU succeeded. The last group
 * leaving deprivileges the container back to `unset` (`__vfio_group_unset_container`),
 * which releases the backend and puts its vfio_mm. Group attach and non-last detach do
 * not change the container's state; they are transitions of the group machine.
 *
 * @example
 * const s = containerMachine.resolveState({ value: 'unset', context: {} });
 * transition(containerMachine, s, { type: 'SET_IOMMU' })[0].value; // 'iommu_set'
 */
export const containerMachine = setup({
  types: {} as {
    events: { type: 'OPEN' } | { type: 'SET_IOMMU' } | { type: 'LAST_GROUP_DETACH' } | { type: 'CLOSE' };
  },
}).createMachine({
  id: 'container',
  initial: 'none',
  states: {
    none: { on: { OPEN: 'unset' } },
    unset: { on: { SET_IOMMU: 'iommu_set', CLOSE: 'closed' } },
    iommu_set: { on: { LAST_GROUP_DETACH: 'unset' } },
    closed: { type: 'final' },
  },
});

/** The kernel's checks on a container, as named pure predicates over its compact state. */
export const containerGuards = {
  /** VFIO_SET_IOMMU needs at least one group: `list_empty(&container->group_list)` is -EINVAL. */
  hasGroups: (groups: readonly string[]): boolean => groups.length > 0,
  /** A second VFIO_SET_IOMMU is -EINVAL: `container->iommu_driver` already set. */
  iommuSet: (state: string): boolean => state === 'iommu_set',
  /** A closed fd is gone: any ioctl on it is -EBADF. */
  isOpen: (state: string | undefined): boolean => state === 'unset' || state === 'iommu_set',
};
