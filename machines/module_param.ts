import { setup } from 'xstate';

/**
 * The vfio module parameter `pasid_quota` (PASIDs one VM may hold at once).
 *
 * v1 takes admin writes (`writable`); v7 makes it read-only after load (`read_only`),
 * where a write is refused with -EPERM and changes nothing.
 *
 * @example
 * const s = moduleParamMachine.resolveState({ value: 'writable', context: {} });
 * transition(moduleParamMachine, s, { type: 'SET' })[0].value; // 'writable'
 */
export const moduleParamMachine = setup({
  types: {} as { events: { type: 'SET' } },
}).createMachine({
  id: 'module_param',
  initial: 'writable',
  states: {
    writable: { on: { SET: 'writable' } },
    read_only: {},
  },
});

/** Checks on an admin write of a module parameter. */
export const moduleParamGuards = {
  /** `pasid_quota` is an int parameter: a non-negative integer that fits in it. */
  validQuota: (value: unknown): boolean =>
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff,
  /** Invariant 8: every quota change names its actor (blank text names nobody). */
  namesActor: (actor: unknown): boolean => typeof actor === 'string' && actor.trim() !== '',
};
