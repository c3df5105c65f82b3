import { opSpec, opsWhere } from '../model/ops/registry.js';
import type { Profile, RequestEntry } from '../model/types.js';
import { isU32 } from '../uapi/bytes.js';
import { decodePasidRequestV1 } from '../uapi/pasid_request_v1.js';
import { decodePasidRequestV7 } from '../uapi/pasid_request_v7.js';
import { VTD_HPASID_MAX, VTD_HPASID_MIN, VTD_VCMD_ALLOC_PASID, VTD_VCMD_CMD_MASK } from '../uapi/vtd_vcmd.js';

/** The range QEMU's vIOMMU asks each container for on a guest's ALLOC command (docs/kernel-behaviour.md section 6). */
export const VCMD_ALLOC_RANGE = Object.freeze({ min: VTD_HPASID_MIN, max: VTD_HPASID_MAX });

/** Request ops that never allocate a PASID: an ALLOC transition under one of them is wrong (the registry's `alloc: 'never'`). */
export const NON_ALLOCATING_OPS: ReadonlySet<string> = new Set(opsWhere((o) => o.alloc === 'never'));

/** What an ALLOC transition's request asked for. */
export type AllocRange =
  | { kind: 'range'; min: number; max: number }
  /** A request that allocates nothing (it names an op of {@link NON_ALLOCATING_OPS}, or its struct is not an ALLOC). */
  | { kind: 'none'; why: string }
  /** An op this audit does not know (a later profile's): its range cannot be checked. */
  | { kind: 'unknown' };


/**
 * The `[min, max]` an allocation request asked for, read from the log's own record of
 * it: the typed request's fields, or the raw struct decoded with the profile's layout
 * (v1: `min@8, max@12`; v7: the same offsets in a 16-byte struct), or for a guest's
 * virtual ALLOC command the `[1, 0xFFFFF]` QEMU asks for.
 *
 * @example
 * allocRange({ op: 'pasid_alloc', req: { container: 'c1', min: 1, max: 9 } } as RequestEntry, 'v1');
 * // { kind: 'range', min: 1, max: 9 }
 */
export function allocRange(r: RequestEntry, profile: Profile): AllocRange {
  const req = r.req ?? {};
  const alloc = opSpec(r.op)?.alloc;
  if (alloc === 'struct' && typeof req.hex === 'string') {
    const buf = Buffer.from(req.hex, 'hex');
    const d = profile === 'v7' ? decodePasidRequestV7(buf) : decodePasidRequestV1(buf);
    if (!d.ok || d.op !== 'alloc') return { kind: 'none', why: 'its struct is not a valid ALLOC' };
    return { kind: 'range', min: d.min, max: d.max };
  }
  if (alloc === 'vcmd') {
    const cmd = typeof req.value === 'number' ? req.value & VTD_VCMD_CMD_MASK : -1;
    if (cmd !== VTD_VCMD_ALLOC_PASID) return { kind: 'none', why: `its virtual command ${cmd} is not ALLOC` };
    return { kind: 'range', ...VCMD_ALLOC_RANGE };
  }
  if (alloc === 'never') return { kind: 'none', why: `${r.op} allocates no PASID` };
  if (isU32(req.min) && isU32(req.max)) return { kind: 'range', min: req.min, max: req.max };
  if (alloc === 'range') return { kind: 'none', why: 'the request names no valid [min, max]' };
  return { kind: 'unknown' };
}
