import type { Plan } from './plan.js';
import type { TransitionDraft } from './types.js';

/** What `decide` concludes for one request: the caller's outcome and the transitions it causes. */
export interface Decision {
  ret: number;
  pasid?: number;
  reason?: string;
  /** The calling vm, resolved. */
  vm?: string;
  /** The request struct as the ioctl leaves it in the caller's buffer (hex). */
  hex?: string;
  transitions: TransitionDraft[];
}

/** A refused request: the errno the caller sees and the reason recorded beside it; no transitions. */
export function refuse(ret: number, reason: string, vm?: string): Decision {
  return vm === undefined ? { ret, reason, transitions: [] } : { ret, reason, vm, transitions: [] };
}

/** An accepted request with the transitions the plan collected. */
export function accept(plan: Plan, fields: Omit<Decision, 'transitions'>): Decision {
  const d: Decision = { ...fields, transitions: plan.transitions };
  if (d.reason === undefined) delete d.reason;
  if (d.vm === undefined) delete d.vm;
  if (d.pasid === undefined) delete d.pasid;
  return d;
}
