import { setup } from 'xstate';

/**
 * An IOMMU group: attached to at most one container (`VFIO_GROUP_SET_CONTAINER`).
 *
 * @example
 * const s = groupMachine.resolveState({ value: 'detached', context: {} });
 * transition(groupMachine, s, { type: 'SET_CONTAINER' })[0].value; // 'attached'
 */
export const groupMachine = setup({
  types: {} as { events: { type: 'SET_CONTAINER' } | { type: 'UNSET_CONTAINER' } },
}).createMachine({
  id: 'group',
  initial: 'detached',
  states: {
    detached: { on: { SET_CONTAINER: 'attached' } },
    attached: { on: { UNSET_CONTAINER: 'detached' } },
  },
});

/** The kernel's checks on a group, as named pure predicates. */
export const groupGuards = {
  /** `vfio_group_set_container`: a group already in a container is -EINVAL. */
  inContainer: (container: string | null): boolean => container !== null,
  /** "Real groups and fake groups cannot mix": a no-IOMMU group beside real ones is -EPERM. */
  mixesNoiommu: (containerNoiommu: boolean | null, groupNoiommu: boolean): boolean =>
    containerNoiommu !== null && containerNoiommu !== groupNoiommu,
};
