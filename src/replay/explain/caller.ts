import type { HostState } from '../../model/state.js';
import { vmFacts } from '../facts.js';
import type { CallerFacts } from './types.js';

/**
 * The calling vm's facts when the request names one (`caller` is then the first fact), else nothing.
 *
 * @example
 * callerFacts(s, 'vm1'); // { caller: { vm: 'vm1', mm: '0x1000', state: 'running', containers: ['c1'] } }
 */
export function callerFacts(s: HostState, vm: string | undefined): CallerFacts {
  return vm !== undefined ? { caller: vmFacts(s, vm) } : {};
}
