import { setup } from 'xstate';

/**
 * The virtual command interface of one vm's QEMU intel-iommu (`x-scalable-mode=modern`):
 * the guest writes VCMD, QEMU sets VCRSP's in-progress bit, asks the host for a PASID
 * (or frees one) through the vm's containers, then writes the response and clears the
 * bit. QEMU runs the whole command under the big lock, so `in_progress` lasts from a
 * `VCMD_START` to the `VCMD_DONE` of the same write; a write that arrives meanwhile, or
 * while VCCAP lacks PAS, is dropped and changes nothing.
 *
 * @example
 * const s = viommuMachine.resolveState({ value: 'ready', context: {} });
 * transition(viommuMachine, s, { type: 'VCMD_START' })[0].value; // 'in_progress'
 */
export const viommuMachine = setup({
  types: {} as { events: { type: 'VCMD_START' } | { type: 'VCMD_DONE' } },
}).createMachine({
  id: 'viommu',
  initial: 'ready',
  states: {
    ready: { on: { VCMD_START: 'in_progress' } },
    in_progress: { on: { VCMD_DONE: 'ready' } },
  },
});

/** QEMU's checks on a VCMD write (`vtd_handle_vcmd_write`), as named pure predicates. */
export const viommuGuards = {
  /** VCCAP bit 0 (PAS): without it the write is ignored. */
  hasPas: (vccap: number): boolean => (vccap & 1) === 1,
  /** VCRSP bit 0 (IP): a command in progress makes the write ignored. */
  inProgress: (state: string): boolean => state === 'in_progress',
};
