import type { RequestEntry } from '../model/types.js';
import { describeVfioMm, type AuditContext } from './context.js';

/**
 * The quirks a request shows by itself, against the host just before it:
 * - a vm starting with the mm token of a live vfio_mm (the token was reused while the
 *   account it keys is alive, so the new process shares it);
 * - a v1 `VFIO_SET_IOMMU` that succeeded without a vfio_mm because capacity ran out;
 * - a guest's config write that tried to enable PASID on an exposed (read-only)
 *   capability, dropped and reported as success (`pasid_enable_dropped`), or that went
 *   raw to the bytes of a hidden one (`hidden_pasid_cap_raw_write`);
 * - a v1 GET_INFO claiming PASID requests for a container without a vfio_mm.
 *
 * @example
 * requestQuirks(ctx, { seq: 40, op: 'vm_start', req: { vm: 'vm9', mm: '0x1000' }, ret: 0, ... });
 * // flags mm_reused when 0x1000 keys a live vfio_mm
 */
export function requestQuirks(ctx: AuditContext, r: RequestEntry): void {
  const { s } = ctx;
  if (r.op === 'vm_start' && r.ret >= 0 && typeof r.req?.mm === 'string') {
    const mm = r.req.mm;
    const live = s.liveByMm.get(mm);
    if (live === undefined) return;
    const users = [...s.vms.values()].filter((v) => v.mm === mm && v.state === 'running').map((v) => v.vm);
    ctx.quirks.hit({
      kind: 'mm_reused', seq: r.seq, request: r.seq, at: r.at, vm: r.vm ?? String(r.req.vm), mm, vfio_mm: live,
      detail: `vm ${String(r.req.vm)} started with mm ${mm}, the token of live vfio_mm ${describeVfioMm(s, live)}${users.length ? ` (vm ${users.join(', ')} running with it)` : ''}`,
    });
  }
  if (r.op === 'set_iommu' && r.ret === 0 && r.reason === 'capacity_exhausted') {
    ctx.quirks.hit({
      kind: 'no_vfio_mm', seq: r.seq, request: r.seq, at: r.at, vm: r.vm,
      detail: `set_iommu on container ${String(r.req?.container)} by ${r.vm ?? '?'} succeeded without a vfio_mm: capacity_avail ${s.capacityAvail} < pasid_quota ${s.pasidQuota}`,
    });
  }
  if (r.op === 'config_write' && r.ret === 0 && (r.reason === 'pasid_enable_dropped' || r.reason === 'hidden_pasid_cap_raw_write')) {
    const bdf = String(r.req?.bdf);
    const d = s.devices.get(bdf);
    const at = typeof r.req?.offset === 'number' ? `0x${r.req.offset.toString(16)}` : '?';
    const cap = d?.pasidOffset != null ? ` (PASID capability at 0x${d.pasidOffset.toString(16)})` : '';
    const wrote = typeof r.req?.value === 'number' ? `0x${r.req.value.toString(16)}` : '?';
    ctx.quirks.hit({
      kind: r.reason, seq: r.seq, request: r.seq, at: r.at, vm: r.vm, bdf,
      detail: r.reason === 'pasid_enable_dropped'
        ? `guest tried to enable PASID on a read-only capability: ${r.vm ?? 'the guest'} wrote ${wrote} to ${at} of ${bdf}${cap}; the write was dropped and reported as success`
        : `${r.vm ?? 'the guest'} wrote ${wrote} to ${at} of ${bdf}${cap}: the capability is hidden, its bytes unclaimed, so the write went raw to the hardware`,
    });
  }
  if (r.op === 'get_info' && r.ret === 0 && r.reason === 'pasid_reqs_without_vfio_mm') {
    ctx.quirks.hit({
      kind: 'pasid_reqs_without_vfio_mm', seq: r.seq, request: r.seq, at: r.at, vm: r.vm,
      detail: `GET_INFO on container ${String(r.req?.container)} by ${r.vm ?? '?'} reported VFIO_IOMMU_PASID_REQS, but the container has no vfio_mm`,
    });
  }
}
