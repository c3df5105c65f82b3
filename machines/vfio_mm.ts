import { setup } from 'xstate';

/**
 * The per-VM PASID account (`struct vfio_mm`): one per live mm token, shared by every
 * container of that mm whose IOMMU is set; it owns one ioasid set with a quota.
 *
 * `GET`/`PUT` move the refcount (the number of containers holding it); the put that
 * reaches zero is `RELEASE`, after the PASIDs still in the set were freed one by one.
 * A released vfio_mm never comes back: the next get for the same mm creates a new one.
 * `QUOTA_ADJUST` is v1's lazy adjust of the set at ALLOC time.
 *
 * @example
 * const s = vfioMmMachine.resolveState({ value: 'live', context: {} });
 * transition(vfioMmMachine, s, { type: 'RELEASE' })[0].value; // 'released'
 */
export const vfioMmMachine = setup({
  types: {} as {
    events: { type: 'CREATE' } | { type: 'GET' } | { type: 'PUT' } | { type: 'RELEASE' } | { type: 'QUOTA_ADJUST' };
  },
}).createMachine({
  id: 'vfio_mm',
  initial: 'none',
  states: {
    none: { on: { CREATE: 'live' } },
    live: { on: { GET: 'live', PUT: 'live', QUOTA_ADJUST: 'live', RELEASE: 'released' } },
    released: { type: 'final' },
  },
});

/** The ioasid set's rules (docs/kernel-behaviour.md section 2), as named pure predicates. */
export const vfioMmGuards = {
  /** Set creation reserves the whole quota up front: `quota > capacity_avail` is -ENOSPC. */
  capacityExhausted: (quota: number, capacityAvail: number): boolean => quota > capacityAvail,
  /** ALLOC in a set that already holds `quota` ids fails. */
  quotaExhausted: (held: number, setQuota: number): boolean => held >= setQuota,
  /** Lazy adjust: a new quota below the ids held is -EINVAL. */
  adjustBelowHeld: (quota: number, held: number): boolean => quota < held,
  /** Lazy adjust: the kernel compares the absolute new quota with capacity_avail (quirk): -ENOSPC. */
  adjustOverCapacity: (quota: number, capacityAvail: number): boolean => quota >= capacityAvail,
  /** The last put releases the vfio_mm. */
  isLastRef: (refs: number): boolean => refs === 1,
};
