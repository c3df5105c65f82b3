import { EACCES, EFAULT, EINVAL, ENOENT, ENOSPC, ENOTTY } from '../../uapi/errno.js';
import { decodePasidRequestV1, writePasidResultV1 } from '../../uapi/pasid_request_v1.js';
import { pasidGuards } from '../../../machines/pasid.js';
import { vfioMmGuards } from '../../../machines/vfio_mm.js';
import { accept, refuse, type Decision } from '../decision.js';
import type { Reason } from '../reason.js';
import { Plan } from '../plan.js';
import { hasIommuDomain, type ContainerState, type HostState, type VfioMmState } from '../state.js';
import { resolveContainer } from './caller.js';

const toHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * `VFIO_IOMMU_PASID_REQUEST` of v1 on a container, from the caller's buffer as given.
 * The checks run in the kernel's order (docs/kernel-behaviour.md section 4); the first failure decides
 * what the caller sees, and the reason behind it is recorded beside the errno.
 *
 * @example
 * pasidRequestV1(state, { container: 'c1' }, encodePasidRequestV1({ flags: 1, min: 1, max: 0xfffff }));
 * // { ret: 0, pasid: 1, hex: '...', transitions: [{ machine: 'pasid', event: 'ALLOC', ... }] }
 */
export function pasidRequestV1(s: HostState, req: { container: string; vm?: string }, buf: Uint8Array, raw: boolean): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const { c, vm } = r;
  if (c.state !== 'iommu_set') return refuse(-EINVAL, 'no_iommu', vm);
  // Only type1 handles the PASID request; the no-IOMMU driver knows no such ioctl.
  if (c.iommu_type === 'VFIO_NOIOMMU_IOMMU') return refuse(-ENOTTY, 'not_type1', vm);
  const d = decodePasidRequestV1(buf);
  if (!d.ok) return refuse(d.errno, d.reason, vm);
  return d.op === 'alloc'
    ? alloc(s, c, vm, d.min, d.max, raw ? buf : null)
    : free(s, c, vm, d.pasid);
}

/** ALLOC: checks 8 to 12, with v1's lazy quota adjust between 9 and 10. */
function alloc(s: HostState, c: ContainerState, vm: string, min: number, max: number, buf: Uint8Array | null): Decision {
  if (!hasIommuDomain(s, c)) return refuse(-EFAULT, 'no_domain', vm);
  const mm = c.vfio_mm === null ? undefined : s.vfioMms.get(c.vfio_mm);
  if (!mm) return refuse(-EFAULT, 'no_vfio_mm', vm);
  const plan = new Plan(s);
  const setQuota = lazyQuotaAdjust(plan, mm);
  if (vfioMmGuards.quotaExhausted(mm.pasids.size, setQuota)) return withPlan(plan, -EFAULT, 'quota_exhausted', vm);
  const pasid = s.ids.findLowest(min, max);
  if (pasid < 0) return withPlan(plan, -EFAULT, 'range_exhausted', vm);
  plan.step('pasid', 'ALLOC', { pasid, vfio_mm: mm.vfio_mm, mm: mm.mm, container: c.container });
  // The id 0 is handed out by the allocator but the caller fails; it stays in the set (quirk).
  if (pasidGuards.isRidPasid(pasid)) return accept(plan, { ret: -EFAULT, pasid, reason: 'pasid_zero', vm });
  const hex = buf ? withResult(buf, pasid) : undefined;
  return accept(plan, { ret: 0, pasid, vm, ...(hex ? { hex } : {}) });
}

/**
 * v1 applies a changed `pasid_quota` lazily, here: the vfio_mm records the new value
 * whatever happens, but the set only takes it when the adjust succeeds; a failed adjust
 * is not retried, since the recorded quota now matches (quirk). Returns the set's limit.
 */
function lazyQuotaAdjust(plan: Plan, mm: VfioMmState): number {
  const s = plan.state;
  const quota = s.pasidQuota;
  if (mm.quota === quota) return mm.set_quota;
  let ret = 0;
  if (vfioMmGuards.adjustBelowHeld(quota, mm.pasids.size)) ret = -EINVAL;
  else if (vfioMmGuards.adjustOverCapacity(quota, s.capacityAvail)) ret = -ENOSPC;
  const setQuota = ret === 0 ? quota : mm.set_quota;
  plan.step('vfio_mm', 'QUOTA_ADJUST', { vfio_mm: mm.vfio_mm, mm: mm.mm, quota, set_quota: setQuota, old_set_quota: mm.set_quota, ret });
  return setQuota;
}

/** FREE: checks 8 to 11. */
function free(s: HostState, c: ContainerState, vm: string, pasid: number): Decision {
  if (!hasIommuDomain(s, c)) return refuse(-EFAULT, 'no_domain', vm);
  const mm = c.vfio_mm === null ? undefined : s.vfioMms.get(c.vfio_mm);
  if (!mm) return refuse(-EINVAL, 'no_vfio_mm', vm);
  const owner = s.owner.get(pasid);
  if (!pasidGuards.isAllocated(owner)) return { ...refuse(-ENOENT, 'not_allocated', vm), pasid };
  if (!pasidGuards.isOwner(owner, mm.vfio_mm)) return { ...refuse(-EACCES, 'not_owner', vm), pasid };
  const plan = new Plan(s);
  plan.step('pasid', 'FREE', { pasid, vfio_mm: mm.vfio_mm, mm: mm.mm, container: c.container });
  return accept(plan, { ret: 0, pasid, vm });
}

function withPlan(plan: Plan, ret: number, reason: Reason, vm: string): Decision {
  return accept(plan, { ret, reason, vm });
}

function withResult(buf: Uint8Array, pasid: number): string {
  const out = Uint8Array.from(buf);
  writePasidResultV1(out, pasid);
  return toHex(out);
}
