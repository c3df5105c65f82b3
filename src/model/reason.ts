import type { PasidRequestV1Reason } from '../uapi/pasid_request_v1.js';
import type { PasidRequestV7Reason } from '../uapi/pasid_request_v7.js';
import type { WriteNote } from './pci_access.js';

/**
 * Why the kernel answered as it did, recorded beside the errno (which often hides it:
 * every v1 ALLOC failure is `-EFAULT`). Persisted as `reason` in request entries and
 * shown by explain and the audit; docs/kernel-behaviour.md has the tables.
 *
 * @example
 * if (outcome.reason === 'quota_exhausted') raiseQuota();
 */
export type Reason =
  // the caller and its objects
  | 'no_such_vm' | 'vm_not_running' | 'vm_exists'
  | 'no_such_container' | 'container_exists' | 'container_closed'
  | 'group_busy' | 'group_not_in_container' | 'group_attributes_differ' | 'no_groups'
  | 'noiommu_mix' | 'noiommu_mismatch' | 'unknown_iommu_type' | 'iommu_already_set' | 'not_type1'
  | 'nesting_one_group' | 'capacity_exhausted'
  // VFIO_IOMMU_PASID_REQUEST (docs/kernel-behaviour.md sections 4 and 5): buffer checks, then the request's own
  | PasidRequestV1Reason | PasidRequestV7Reason
  | 'no_iommu' | 'no_domain' | 'no_vfio_mm' | 'quota_exhausted' | 'range_exhausted' | 'pasid_zero'
  | 'not_allocated' | 'not_owner' | 'none_owned' | 'v7_ioctl'
  // the pasid_quota module parameter
  | 'read_only' | 'bad_value' | 'no_actor'
  // GET_INFO
  | 'pasid_reqs_without_vfio_mm'
  // the guest's virtual command interface
  | 'undefined_command' | 'no_pasid_available' | 'invalid_pasid' | 'dropped_no_pas' | 'dropped_in_progress'
  // devices and config space
  | 'no_such_device' | 'device_exists' | 'no_device_fd' | 'past_config_size' | WriteNote;
