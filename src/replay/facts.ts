import { hasIommuDomain, type HostState } from '../model/state.js';
import { decodePasidRequestV1 } from '../uapi/pasid_request_v1.js';
import { decodePasidRequestV7 } from '../uapi/pasid_request_v7.js';

/**
 * The facts about the host's objects that decide a request, as plain data: what
 * `explain` shows. Each reads a state and changes nothing; an unknown object is null.
 */

/**
 * A vm: its mm token, state and containers.
 *
 * @example
 * vmFacts(s, 'vm1'); // { vm: 'vm1', mm: '0x1000', state: 'running', containers: ['c1'] }
 */
export function vmFacts(s: HostState, vm: string | undefined) {
  const v = vm === undefined ? undefined : s.vms.get(vm);
  return v ? { vm: v.vm, mm: v.mm, state: v.state, containers: [...v.containers] } : null;
}

/**
 * A container: opener, state, IOMMU, groups, whether it has an IOMMU-backed domain, its vfio_mm.
 *
 * @example
 * containerFacts(s, 'c1')?.iommu_domain; // true
 */
export function containerFacts(s: HostState, container: string | undefined) {
  const c = container === undefined ? undefined : s.containers.get(container);
  if (!c) return null;
  return {
    container: c.container, vm: c.vm, state: c.state, iommu_type: c.iommu_type, groups: [...c.groups],
    iommu_domain: hasIommuDomain(s, c), vfio_mm: c.vfio_mm,
  };
}

/**
 * A group: its container and kind.
 *
 * @example
 * groupFacts(s, 'g1'); // { group: 'g1', container: 'c1', iommu_backed: true, noiommu: false }
 */
export function groupFacts(s: HostState, group: string | undefined) {
  const g = group === undefined ? undefined : s.groups.get(group);
  return g ? { group: g.group, container: g.container, iommu_backed: g.iommu_backed, noiommu: g.noiommu } : null;
}

/**
 * A live vfio_mm: its account. `quota` is what it recorded, `set_quota` the limit its
 * ioasid set enforces (they differ after a failed lazy adjust), `held` how many it holds.
 *
 * @example
 * vfioMmFacts(s, 1); // { vfio_mm: 1, mm: '0x1000', gen: 1, refs: 2, quota: 4, set_quota: 4, held: 4 }
 */
export function vfioMmFacts(s: HostState, id: number | null | undefined) {
  const m = id === null || id === undefined ? undefined : s.vfioMms.get(id);
  if (!m) return null;
  return { vfio_mm: m.vfio_mm, mm: m.mm, gen: m.gen, refs: m.refs, quota: m.quota, set_quota: m.set_quota, held: m.pasids.size };
}

/**
 * Who holds a PASID: its vfio_mm and mm token, or null when it is free.
 *
 * @example
 * ownerFacts(s, 5); // { vfio_mm: 2, mm: '0x2000' }
 */
export function ownerFacts(s: HostState, pasid: number) {
  const id = s.owner.get(pasid);
  if (id === undefined) return null;
  return { vfio_mm: id, mm: s.vfioMms.get(id)?.mm ?? null };
}

/**
 * The lowest free id in `[min, max]` (what ALLOC would pick), or null when none is.
 *
 * @example
 * lowestFree(s, 1, 0xfffff); // 5
 */
export function lowestFree(s: HostState, min: number, max: number): number | null {
  if (min >>> 0 !== min || max >>> 0 !== max) return null;
  const id = s.ids.findLowest(min, max);
  return id < 0 ? null : id;
}

/** What a PASID request asks, from its op and arguments (or its raw struct, decoded per profile). */
export type PasidAsk =
  | { op: 'alloc'; min: number; max: number }
  | { op: 'free'; pasid: number }
  | { op: 'free'; min: number; max: number }
  | { op: 'invalid'; reason: string };

/**
 * The PASID operation a recorded request asked for (a raw struct decoded per the log's profile).
 *
 * @example
 * pasidAsk(s, { op: 'pasid_free', container: 'c1', pasid: 5 }); // { op: 'free', pasid: 5 }
 */
export function pasidAsk(s: HostState, req: Record<string, unknown>): PasidAsk | null {
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  if (req.op === 'pasid_alloc') return { op: 'alloc', min: num(req.min), max: num(req.max) };
  if (req.op === 'pasid_free') {
    return typeof req.pasid === 'number' ? { op: 'free', pasid: req.pasid } : { op: 'free', min: num(req.min), max: num(req.max) };
  }
  if (req.op !== 'pasid_request' || typeof req.hex !== 'string') return null;
  const buf = Buffer.from(req.hex, 'hex');
  if (s.config.profile === 'v7') {
    const d = decodePasidRequestV7(buf);
    if (!d.ok) return { op: 'invalid', reason: d.reason };
    return d.op === 'alloc' ? { op: 'alloc', min: d.min, max: d.max } : { op: 'free', min: d.min, max: d.max };
  }
  const d = decodePasidRequestV1(buf);
  if (!d.ok) return { op: 'invalid', reason: d.reason };
  return d.op === 'alloc' ? { op: 'alloc', min: d.min, max: d.max } : { op: 'free', pasid: d.pasid };
}
