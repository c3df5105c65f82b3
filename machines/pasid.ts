import { setup } from 'xstate';

/**
 * One PASID in the host-wide ioasid namespace: free, or allocated to exactly one set.
 *
 * @example
 * const s = pasidMachine.resolveState({ value: 'free', context: {} });
 * transition(pasidMachine, s, { type: 'ALLOC' })[0].value; // 'allocated'
 */
export const pasidMachine = setup({
  types: {} as { events: { type: 'ALLOC' } | { type: 'FREE' } },
}).createMachine({
  id: 'pasid',
  initial: 'free',
  states: {
    free: { on: { ALLOC: 'allocated' } },
    allocated: { on: { FREE: 'free' } },
  },
});

/** Checks on a PASID, as named pure predicates. */
export const pasidGuards = {
  /** v1 FREE of an id the allocator does not hold: -ENOENT. */
  isAllocated: (owner: number | undefined): boolean => owner !== undefined,
  /** v1 FREE of an id held by another vfio_mm: -EACCES. */
  isOwner: (owner: number | undefined, vfioMm: number): boolean => owner === vfioMm,
  /** PASID 0 is the RID_PASID: the allocator does not reserve it, but a caller seeing it fails (quirk). */
  isRidPasid: (pasid: number): boolean => pasid === 0,
};
