import type { RequestEntry } from '../model/types.js';
import { describeVfioMm, type AuditContext } from './context.js';

/**
 * The quirks a request shows by itself, against the host just before it:
 * - a vm starting with the mm token of a live vfio_mm (the token was reused while the
 *   account it keys is alive, so the new process shares it);
 * - a v1 `VFIO_SET_IOMMU` that succeeded without a vfio_mm because capacity ran out.
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
}
