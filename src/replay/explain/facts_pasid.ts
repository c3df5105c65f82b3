import type { HostState } from '../../model/state.js';
import { decodePasidRequestV1 } from '../../uapi/pasid_request_v1.js';
import { decodePasidRequestV7, PASID_REQUEST_V7_RANGE_LIMIT } from '../../uapi/pasid_request_v7.js';
import { containerFacts, lowestFree, ownerFacts, vfioMmFacts } from '../facts.js';
import { callerFacts } from './caller.js';
import type { Recorded } from './recorded.js';
import type { ExplainFacts, PasidFacts } from './types.js';

/** The facts of a PASID request (pasid_alloc, pasid_free, the raw struct), under v1's rules and v7's. */

/** What a PASID request asks, from its op and arguments (or its raw struct, decoded per profile). */
export type PasidAsk =
  | { op: 'alloc'; min: number; max: number }
  | { op: 'free'; pasid: number }
  | { op: 'free'; min: number; max: number }
  | { op: 'invalid'; reason: string };

/** The PASID ops. */
export type PasidOp = 'pasid_alloc' | 'pasid_free' | 'pasid_request';

/**
 * The PASID operation a recorded request asked for (a raw struct decoded per the log's
 * profile); a missing bound reads as 0, a missing struct as no ask (null).
 *
 * @example
 * pasidAsk(s, { op: 'pasid_free', container: 'c1', pasid: 5 }); // { op: 'free', pasid: 5 }
 */
export function pasidAsk(s: HostState, r: Recorded<PasidOp>): PasidAsk | null {
  if (r.op === 'pasid_alloc') return { op: 'alloc', min: r.min ?? 0, max: r.max ?? 0 };
  if (r.op === 'pasid_free') return r.pasid !== undefined ? { op: 'free', pasid: r.pasid } : { op: 'free', min: r.min ?? 0, max: r.max ?? 0 };
  if (r.hex === undefined) return null;
  const buf = Buffer.from(r.hex, 'hex');
  if (s.config.profile === 'v7') {
    const d = decodePasidRequestV7(buf);
    if (!d.ok) return { op: 'invalid', reason: d.reason };
    return d.op === 'alloc' ? { op: 'alloc', min: d.min, max: d.max } : { op: 'free', min: d.min, max: d.max };
  }
  const d = decodePasidRequestV1(buf);
  if (!d.ok) return { op: 'invalid', reason: d.reason };
  return d.op === 'alloc' ? { op: 'alloc', min: d.min, max: d.max } : { op: 'free', pasid: d.pasid };
}

/**
 * A PASID request's deciding facts, from the host just before it: the container, its
 * vfio_mm and the quota; for an ALLOC the range, its lowest free id and the quota left;
 * for a v1 FREE the PASID's owner; for a v7 range FREE how many PASIDs in the range are
 * this vfio_mm's and how many are others' (v7 frees only its own, silently). Under v7,
 * whether the range passes v7's first check.
 *
 * @example
 * pasidFacts(s, { op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }).facts.lowest_free; // 4
 */
export function pasidFacts(s: HostState, r: Recorded<PasidOp>): ExplainFacts {
  return { kind: 'pasid', facts: pasidFactsOf(s, r.vm, r.container, pasidAsk(s, r)) };
}

/**
 * The facts of an op this code does not know (a crafted or later log): its caller and
 * container read leniently, as a PASID request that asks nothing.
 *
 * @example
 * unknownOpFacts(s, { op: 'later_op', container: 'c1' }).facts.ask; // null
 */
export function unknownOpFacts(s: HostState, req: Readonly<Record<string, unknown>>): ExplainFacts {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { kind: 'unknown_op', facts: pasidFactsOf(s, str(req.vm), str(req.container), null) };
}

function pasidFactsOf(s: HostState, vm: string | undefined, container: string | undefined, ask: PasidAsk | null): PasidFacts {
  const c = containerFacts(s, container);
  const m = vfioMmFacts(s, c?.vfio_mm);
  const f: PasidFacts = { ...callerFacts(s, vm), container: c, vfio_mm: m, pasid_quota: s.pasidQuota, ask };
  if (ask?.op === 'alloc') {
    f.range = { min: ask.min, max: ask.max };
    f.lowest_free = lowestFree(s, ask.min, ask.max);
    if (m) f.quota_left = Math.max(0, m.set_quota - m.held);
  } else if (ask?.op === 'free' && 'pasid' in ask) {
    f.pasid = ask.pasid;
    f.owner = ownerFacts(s, ask.pasid);
  } else if (ask?.op === 'free') {
    f.range = { min: ask.min, max: ask.max };
    const inRange = (p: number) => p >= ask.min && p <= ask.max;
    f.owned_in_range = m ? [...(s.vfioMms.get(m.vfio_mm)?.pasids ?? [])].filter(inRange).length : 0;
    // v7 frees only this vfio_mm's PASIDs in the range: the others there are silently left alone.
    let others = 0;
    for (const [p, owner] of s.owner) if (inRange(p) && owner !== m?.vfio_mm) others++;
    f.held_by_others_in_range = others;
  }
  if (s.config.profile === 'v7' && ask && ask.op !== 'invalid' && 'min' in ask) {
    // v7 refuses min > max and min or max above 1 << 31 (-EINVAL bad_range) before anything else.
    f.v7_range_ok = ask.min <= ask.max && ask.max <= PASID_REQUEST_V7_RANGE_LIMIT;
  }
  return f;
}
