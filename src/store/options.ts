import type { OpenOptions } from './open.js';

/**
 * The options `openDatabase` knows, as a record over `keyof OpenOptions`: an option
 * added to the interface and not here fails to compile, so none is ever refused by mistake.
 */
const OPEN_OPTION_KEYS: Record<keyof OpenOptions, true> = { readonly: true, mustExist: true, busyTimeout: true, synchronous: true };

/** The names of the open options, in declaration order. */
export const OPEN_OPTIONS = Object.keys(OPEN_OPTION_KEYS) as (keyof OpenOptions)[];

/**
 * What is wrong with the values of open options, or null. A mistyped value would
 * otherwise reach a pragma (`busy_timeout = abc`) or be read as a truthy flag.
 *
 * @example
 * openOptionProblem({ synchronous: 'FULL' }); // null
 * openOptionProblem({ busyTimeout: -1 }); // 'busyTimeout must be ...'
 */
export function openOptionProblem(o: OpenOptions): string | null {
  for (const k of ['readonly', 'mustExist'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') return `${k} must be true or false`;
  }
  const t = o.busyTimeout;
  if (t !== undefined && !(Number.isInteger(t) && t >= 0 && t <= 0x7fffffff)) return 'busyTimeout must be an integer number of milliseconds in 0..2147483647';
  const s = o.synchronous;
  if (s !== undefined && s !== 'FULL' && s !== 'NORMAL' && s !== 'OFF') return 'synchronous must be FULL, NORMAL or OFF';
  return null;
}
