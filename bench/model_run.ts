import { decide } from '../src/model/decide.js';
import { evolve } from '../src/model/evolve.js';
import type { HostState } from '../src/model/state.js';
import type { Entry, Outcome, Request, RequestEntry } from '../src/model/types.js';

/**
 * One request against a state in memory, as the ledger runs it minus the IO: decide,
 * build the request entry and its transition entries (seq, at, cause), evolve each in.
 * Mirrors `Ledger.run` so the in-memory figures measure the same work.
 *
 * @example
 * const out = applyInMemory(state, { op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }, at);
 */
export function applyInMemory(s: HostState, req: Request, at: string): Outcome {
  const d = decide(s, req);
  const seq = s.seq + 1;
  const entry: RequestEntry = {
    seq, at, type: 'request', op: req.op, req: req as unknown as Record<string, unknown>, ret: d.ret,
    ...(d.vm !== undefined ? { vm: d.vm } : {}),
    ...(d.pasid !== undefined ? { pasid: d.pasid } : {}),
    ...(d.reason !== undefined ? { reason: d.reason } : {}),
    ...(d.hex !== undefined ? { hex: d.hex } : {}),
  };
  evolve(s, entry);
  for (let i = 0; i < d.transitions.length; i++) {
    evolve(s, { ...d.transitions[i]!, seq: seq + 1 + i, at, type: 'transition', cause: seq } as Entry);
  }
  return { seq, ret: d.ret, pasid: d.pasid ?? null, reason: d.reason ?? null };
}
