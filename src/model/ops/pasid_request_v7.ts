import { EINVAL, ENOSPC, ENOTTY, EOPNOTSUPP } from '../../uapi/errno.js';
import { decodePasidRequestV7 } from '../../uapi/pasid_request_v7.js';
import { pasidGuards } from '../../../machines/pasid.js';
import { vfioMmGuards } from '../../../machines/vfio_mm.js';
import { accept, refuse, type Decision } from '../decision.js';
import { Plan } from '../plan.js';
import type { ContainerState, HostState, VfioMmState } from '../state.js';
import { resolveContainer } from './caller.js';

/**
 * `VFIO_IOMMU_PASID_REQUEST` of v7 (`vfio_iommu_type1_pasid_request`, docs/kernel-behaviour.md section 5)
 * on a container, from the caller's 16-byte buffer. The vfio core refuses an ioctl on a
 * container without a driver (-EINVAL); then the buffer checks, the vfio_mm check
 * (-EOPNOTSUPP) under the IOMMU lock, and the flag switch, in the kernel's order.
 * ALLOC returns the PASID itself; FREE frees this vfio_mm's PASIDs in `[min, max]` and
 * returns 0 whatever it found.
 *
 * @example
 * pasidRequestV7(state, { container: 'c1' }, encodePasidRequestV7({ flags: 1, min: 1, max: 0xfffff }));
 * // { ret: 1, pasid: 1, transitions: [{ machine: 'pasid', event: 'ALLOC', ... }] }
 */
export function pasidRequestV7(s: HostState, req: { container: string; vm?: string }, buf: Uint8Array): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const { c, vm } = r;
  if (c.state !== 'iommu_set') return refuse(-EINVAL, 'no_iommu', vm);
  if (c.iommu_type === 'VFIO_NOIOMMU_IOMMU') return refuse(-ENOTTY, 'not_type1', vm);
  const d = decodePasidRequestV7(buf);
  if (!d.ok && !d.afterVfioMm) return refuse(d.errno, d.reason, vm);
  const mm = c.vfio_mm === null ? undefined : s.vfioMms.get(c.vfio_mm);
  if (!mm) return refuse(-EOPNOTSUPP, 'no_vfio_mm', vm);
  if (!d.ok) return refuse(d.errno, d.reason, vm);
  return d.op === 'alloc' ? alloc(s, c, vm, mm, d.min, d.max) : freeRange(s, c, vm, mm, d.min, d.max);
}

/**
 * `vfio_pasid_alloc`: the lowest free id in `[min, max]` from the vfio_mm's set. Quota
 * and range failures both come back as -ENOSPC; the reason tells them apart. v7 has no
 * lazy quota adjust (the quota is read-only) and no PASID 0 check: a caller passing
 * `min = 0` can be handed 0, as the ioctl's (successful) return value.
 */
function alloc(s: HostState, c: ContainerState, vm: string, mm: VfioMmState, min: number, max: number): Decision {
  if (vfioMmGuards.quotaExhausted(mm.pasids.size, mm.set_quota)) return refuse(-ENOSPC, 'quota_exhausted', vm);
  const pasid = s.ids.findLowest(min, max);
  if (pasid < 0) return refuse(-ENOSPC, 'range_exhausted', vm);
  const plan = new Plan(s);
  plan.step('pasid', 'ALLOC', { pasid, vfio_mm: mm.vfio_mm, mm: mm.mm, container: c.container });
  const reason = pasidGuards.isRidPasid(pasid) ? 'pasid_zero' : undefined;
  return accept(plan, { ret: pasid, pasid, vm, reason });
}

/**
 * `vfio_pasid_free_range`: every PASID this vfio_mm holds inside `[min, max]` is freed,
 * lowest first, each its own transition; ids held by others or not allocated are
 * silently skipped. Always 0; `none_owned` records a FREE that freed nothing.
 */
function freeRange(s: HostState, c: ContainerState, vm: string, mm: VfioMmState, min: number, max: number): Decision {
  const plan = new Plan(s);
  const mine = [...mm.pasids].filter((p) => p >= min && p <= max).sort((a, b) => a - b);
  for (const pasid of mine) plan.step('pasid', 'FREE', { pasid, vfio_mm: mm.vfio_mm, mm: mm.mm, container: c.container });
  return accept(plan, { ret: 0, vm, reason: mine.length === 0 ? 'none_owned' : undefined });
}
