import type { Plan } from './plan.js';
import type { Reason } from './reason.js';
import type { Answer, TransitionDraft } from './types.js';

/** What `decide` concludes for one request: the caller's answer, the calling vm and the transitions it causes. */
export interface Decision extends Answer {
  /** The calling vm, resolved. */
  vm?: string;
  transitions: TransitionDraft[];
}

/** A refused request: the errno the caller sees and the reason recorded beside it; no transitions. */
export function refuse(ret: number, reason: Reason, vm?: string): Decision {
  return vm === undefined ? { ret, reason, transitions: [] } : { ret, reason, vm, transitions: [] };
}

/** An accepted request with the transitions the plan collected. */
export function accept(plan: Plan, fields: Omit<Decision, 'transitions'>): Decision {
  const d: Decision = { ret: fields.ret, transitions: plan.transitions };
  if (fields.pasid !== undefined) d.pasid = fields.pasid;
  if (fields.reason !== undefined) d.reason = fields.reason;
  if (fields.vm !== undefined) d.vm = fields.vm;
  if (fields.hex !== undefined) d.hex = fields.hex;
  if (fields.info !== undefined) d.info = fields.info;
  if (fields.value !== undefined) d.value = fields.value;
  return d;
}
