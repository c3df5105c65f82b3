import { EINVAL, ENOTTY } from '../../uapi/errno.js';
import {
  decodeIommuInfo, encodeIommuInfo, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_PASID_REQS, VFIO_IOMMU_TYPE1_INFO_CAP_NESTING,
  VFIO_IOMMU_TYPE1_INFO_MINSZ,
} from '../../uapi/iommu_info.js';
import { refuse, type Decision } from '../decision.js';
import { supportsPasidRequests, type HostState } from '../state.js';
import type { IommuInfoMeaning } from '../types.js';
import { resolveContainer } from './caller.js';

/**
 * The argsz a `get_info` request passes when it names none: the v1 struct (24 bytes)
 * plus the one capability this model reports (the nesting cap, 16), so a NESTING
 * container's chain fits in one call.
 */
export const GET_INFO_DEFAULT_ARGSZ = 40;

/**
 * `iova_pgsizes` as type1 reports it on Intel VT-d: `vfio_pgsize_bitmap` ANDs the
 * domains' bitmaps (VT-d: every size from 4 KiB, `~0xFFF`) and, with no domain at all,
 * falls back to `PAGE_MASK` (the same value on x86-64).
 */
export const TYPE1_IOVA_PGSIZES = 0xfffffffffffff000n;

/**
 * `VFIO_IOMMU_GET_INFO` on a container: the bytes the kernel writes back (hex) and what
 * they mean. No state changes; the request is logged.
 *
 * v1 (series patch 3/8, `vfio_iommu_info_add_nesting_cap`): EVERY type1 container reports
 * the nesting capability (id 2, version 1: the 12-byte struct, 16 in the chain as
 * `vfio_info_cap_add` aligns it to 8); `nesting_capabilities` is 0 unless the container is
 * NESTING, which sets `VFIO_IOMMU_PASID_REQS` (a review of the patch asked why a
 * non-nesting container reports the cap at all). The kernel decides by the container's
 * type alone, so a NESTING container whose vfio_mm could not be created still claims
 * PASID requests, which then fail (quirk, recorded as `pasid_reqs_without_vfio_mm`).
 * The IOVA-range capability (id 1) type1 also reports is not modelled.
 *
 * v7 reports nesting through `struct iommu_nesting_info` (capability id 3), whose layout
 * this model does not encode: the reply carries the info struct without capabilities,
 * and `info.pasid_reqs` says whether the container can take PASID requests in v7 (it
 * holds a vfio_mm, i.e. the SYSWIDE_PASID feature that cap would report).
 *
 * @example
 * getInfo(state, { container: 'c1' }).info; // { nesting: true, pasid_reqs: true, caps: [{ id: 2, ... }], ... }
 */
export function getInfo(s: HostState, req: { container: string; vm?: string; argsz?: number }): Decision {
  const r = resolveContainer(s, req);
  if ('refused' in r) return r.refused;
  const { c, vm } = r;
  if (c.state !== 'iommu_set') return refuse(-EINVAL, 'no_iommu', vm);
  if (c.iommu_type === 'VFIO_NOIOMMU_IOMMU') return refuse(-ENOTTY, 'not_type1', vm);
  const argsz = req.argsz ?? GET_INFO_DEFAULT_ARGSZ;
  if (argsz < VFIO_IOMMU_TYPE1_INFO_MINSZ) return refuse(-EINVAL, 'bad_argsz', vm);
  const v1 = s.config.profile === 'v1';
  const nesting = v1 && supportsPasidRequests(c);
  const bytes = encodeIommuInfo({ argsz, iova_pgsizes: TYPE1_IOVA_PGSIZES, nesting: v1, pasid_reqs: nesting });
  const d = decodeIommuInfo(bytes);
  if (!d.ok) throw new Error(`bug: the GET_INFO reply we encoded does not decode: ${d.reason}`);
  const nestCap = d.caps.find((x) => x.id === VFIO_IOMMU_TYPE1_INFO_CAP_NESTING);
  const info: IommuInfoMeaning = {
    argsz: d.argsz,
    flags: d.flags,
    iova_pgsizes: `0x${d.iova_pgsizes.toString(16)}`,
    caps: d.caps.map((x) => ({ ...x })),
    // The chain did not fit: the caller learns only that it exists, and the argsz to retry with.
    caps_truncated: (d.flags & VFIO_IOMMU_INFO_CAPS) !== 0 && !d.cap_offset,
    // The cap is there for every v1 type1 container: only its PASID_REQS bit tells NESTING.
    nesting: ((nestCap?.nesting_capabilities ?? 0) & VFIO_IOMMU_PASID_REQS) !== 0,
    pasid_reqs: v1 ? ((nestCap?.nesting_capabilities ?? 0) & VFIO_IOMMU_PASID_REQS) !== 0 : c.vfio_mm !== null,
  };
  const quirk = nesting && c.vfio_mm === null ? 'pasid_reqs_without_vfio_mm' : undefined;
  const out: Decision = { ret: 0, vm, hex: Buffer.from(bytes).toString('hex'), info, transitions: [] };
  if (quirk) out.reason = quirk;
  return out;
}
