import { EINVAL, ENOTTY } from '../uapi/errno.js';
import { encodePasidRequestV1 } from '../uapi/pasid_request_v1.js';
import { encodePasidRequestV7 } from '../uapi/pasid_request_v7.js';
import { VFIO_IOMMU_FLAG_ALLOC_PASID, VFIO_IOMMU_FLAG_FREE_PASID, VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE } from '../uapi/vfio.js';
import { refuse, type Decision } from './decision.js';
import { resolveContainer } from './ops/caller.js';
import { containerClose, containerOpen, setIommu } from './ops/container.js';
import { configRead, configWrite, deviceAdd, deviceRemove } from './ops/device.js';
import { getInfo } from './ops/get_info.js';
import { groupAttach, groupDetach } from './ops/group.js';
import { pasidRequestV1 } from './ops/pasid_request_v1.js';
import { pasidRequestV7 } from './ops/pasid_request_v7.js';
import { setPasidQuota } from './ops/pasid_quota.js';
import { vcmdRead, vcmdWrite } from './ops/vcmd.js';
import { vmEnd, vmStart } from './ops/vm.js';
import type { HostState } from './state.js';
import type { Request } from './types.js';

/**
 * What the kernel does with one request against the host as it is: the outcome the
 * caller sees and the transitions it causes, in order. Pure: reads `s`, changes nothing.
 * The request must already be well-formed (`parseRequest`).
 *
 * @example
 * const d = decide(state, { op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
 * d.ret;   // 0 (v1) or the PASID (v7)
 * d.pasid; // the lowest free id in [1, 0xfffff]
 */
export function decide(s: HostState, req: Request): Decision {
  switch (req.op) {
    case 'vm_start': return vmStart(s, req);
    case 'vm_exit': return vmEnd(s, req, 'VM_EXIT');
    case 'vm_crash': return vmEnd(s, req, 'VM_CRASH');
    case 'container_open': return containerOpen(s, req);
    case 'container_close': return containerClose(s, req);
    case 'group_attach': return groupAttach(s, req);
    case 'group_detach': return groupDetach(s, req);
    case 'set_iommu': return setIommu(s, req);
    case 'set_pasid_quota': return setPasidQuota(s, req);
    case 'pasid_alloc': return pasidAlloc(s, req);
    case 'pasid_free': return pasidFree(s, req);
    case 'pasid_request':
      return s.config.profile === 'v7'
        ? pasidRequestV7(s, req, Buffer.from(req.hex, 'hex'))
        : pasidRequestV1(s, req, Buffer.from(req.hex, 'hex'), true);
    case 'get_info': return getInfo(s, req);
    case 'vcmd_write': return vcmdWrite(s, req);
    case 'vcmd_read': return vcmdRead(s, req);
    case 'device_add': return deviceAdd(s, req);
    case 'device_remove': return deviceRemove(s, req);
    case 'config_read': return configRead(s, req);
    case 'config_write': return configWrite(s, req);
  }
}

/** A typed ALLOC, encoded in the profile's struct as QEMU would fill it. */
function pasidAlloc(s: HostState, req: { container: string; vm?: string; min: number; max: number }): Decision {
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
function pasidFree(s: HostState, req: { container: string; vm?: string; pasid?: number; min?: number; max?: number }): Decision {
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
