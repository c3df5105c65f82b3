import { setup } from 'xstate';

/**
 * Lifecycle of one VMM process (QEMU): one `mm_struct`, named by its `mm` token.
 *
 * `none` is an id never seen. An exited or crashed vm id may start again as a new
 * process (with a new or reused mm token): the kernel has no memory of pids.
 *
 * @example
 * import { transition } from 'xstate';
 * const s = vmMachine.resolveState({ value: 'none', context: {} });
 * transition(vmMachine, s, { type: 'VM_START' })[0].value; // 'running'
 */
export const vmMachine = setup({
  types: {} as { events: { type: 'VM_START' } | { type: 'VM_EXIT' } | { type: 'VM_CRASH' } },
}).createMachine({
  id: 'vm',
  initial: 'none',
  states: {
    none: { on: { VM_START: 'running' } },
    running: { on: { VM_EXIT: 'exited', VM_CRASH: 'crashed' } },
    exited: { on: { VM_START: 'running' } },
    crashed: { on: { VM_START: 'running' } },
  },
});

/** Checks the kernel makes before a vm event, in order. Pure predicates over the vm's state value. */
export const vmGuards = {
  /** Only a live process issues syscalls: every request naming a caller needs it running. */
  isRunning: (state: string | undefined): boolean => state === 'running',
};
