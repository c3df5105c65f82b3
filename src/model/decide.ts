import { encodePasidRequestV1 } from '../uapi/pasid_request_v1.js';
import { VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE } from '../uapi/vfio.js';
import type { Decision } from './decision.js';
import { containerClose, containerOpen, setIommu } from './ops/container.js';
import { groupAttach, groupDetach } from './ops/group.js';
import { pasidRequestV1 } from './ops/pasid_request_v1.js';
import { setPasidQuota } from './ops/pasid_quota.js';
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
 * d.ret;   // 0
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
    case 'pasid_alloc':
      return pasidRequestV1(s, req, encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min: req.min, max: req.max }), false);
    case 'pasid_free':
      return pasidRequestV1(s, req, encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_FREE, pasid: req.pasid ?? 0 }), false);
    case 'pasid_request':
      return pasidRequestV1(s, req, Buffer.from(req.hex, 'hex'), true);
  }
}
