import { EINVAL, ENOTTY } from '../../uapi/errno.js';
import { encodePasidRequestV1 } from '../../uapi/pasid_request_v1.js';
import { encodePasidRequestV7 } from '../../uapi/pasid_request_v7.js';
import { VFIO_IOMMU_FLAG_ALLOC_PASID, VFIO_IOMMU_FLAG_FREE_PASID, VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE } from '../../uapi/vfio.js';
import { refuse, type Decision } from '../decision.js';
import type { HostState } from '../state.js';
import { resolveContainer } from './caller.js';
import { pasidRequestV1 } from './pasid_request_v1.js';
import { pasidRequestV7 } from './pasid_request_v7.js';

/** The raw `VFIO_IOMMU_PASID_REQUEST`: the struct's bytes as the caller filled them, in the profile's layout. */
export function pasidRequest(s: HostState, req: { container: string; vm?: string; hex: string }): Decision {
  return s.config.profile === 'v7'
    ? pasidRequestV7(s, req, Buffer.from(req.hex, 'hex'))
    : pasidRequestV1(s, req, Buffer.from(req.hex, 'hex'), true);
}

/** A typed ALLOC, encoded in the profile's struct as QEMU would fill it. */
export function pasidAlloc(s: HostState, req: { container: string; vm?: string; min: number; max: number }): Decision {
  return s.config.profile === 'v7'
    ? pasidRequestV7(s, req, encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_ALLOC_PASID, min: req.min, max: req.max }))
    : pasidRequestV1(s, req, encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min: req.min, max: req.max }), false);
}

/**
 * A typed FREE. v7 frees a range; a single `pasid` becomes `[pasid, pasid]`, as QEMU's
 * v7 code fills the struct. v1 frees one `pasid`; a range has no v1 encoding: it is the
 * v7 ioctl (0x3B76), which a v1 kernel's type1 does not know (-ENOTTY, or -EINVAL from
 * the vfio core while the container has no driver).
 */
export function pasidFree(s: HostState, req: { container: string; vm?: string; pasid?: number; min?: number; max?: number }): Decision {
  if (s.config.profile === 'v7') {
    const min = req.pasid ?? req.min ?? 0;
    const max = req.pasid ?? req.max ?? 0;
    return pasidRequestV7(s, req, encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_FREE_PASID, min, max }));
  }
  if (req.pasid === undefined) {
    const r = resolveContainer(s, req);
    if ('refused' in r) return r.refused;
    if (r.c.state !== 'iommu_set') return refuse(-EINVAL, 'no_iommu', r.vm);
    return refuse(-ENOTTY, 'v7_ioctl', r.vm);
  }
  return pasidRequestV1(s, req, encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_FREE, pasid: req.pasid }), false);
}
