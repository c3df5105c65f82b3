import type { PasidCapExposure, Profile } from '../../model/types.js';
import type { ConfigAccessFacts, containerFacts, deviceFacts, groupFacts, ownerFacts, vfioMmFacts, viommuFacts, vmFacts } from '../facts.js';
import type { PasidAsk } from './facts_pasid.js';

/**
 * The facts `explain` shows for a request, one member per op family, discriminated by
 * `kind`. `facts` is what `--json` prints under "facts" and the text under "facts just
 * before it": its keys are in the order they are shown, and an unknown object is null.
 */

export type VmFact = ReturnType<typeof vmFacts>;
export type ContainerFact = ReturnType<typeof containerFacts>;
export type GroupFact = ReturnType<typeof groupFacts>;
export type VfioMmFact = ReturnType<typeof vfioMmFacts>;
export type OwnerFact = ReturnType<typeof ownerFacts>;
export type ViommuFact = ReturnType<typeof viommuFacts>;
export type DeviceFact = ReturnType<typeof deviceFacts>;

/** v1's lazy quota adjust inside an ALLOC (a vfio_mm QUOTA_ADJUST transition): its outcome decides the quota check. */
export interface QuotaAdjustFact {
  quota: number;
  set_quota: number;
  old_set_quota: number;
  ret: number;
  errno: string | null;
}

/** Facts read from the transitions a request caused, added after the op's own. */
export interface CausedFacts {
  /** v1: the lazy quota adjust the request's ALLOC (or a guest's ALLOC command) made first. */
  quota_adjust?: QuotaAdjustFact;
}

/** The calling vm, present when the request names one. */
export interface CallerFacts {
  caller?: VmFact;
}

/** vm_start, vm_exit, vm_crash: the vm; for an end, its open containers and their vfio_mms. */
export interface VmLifecycleFacts extends CausedFacts {
  vm: VmFact;
  open_containers?: Array<NonNullable<ContainerFact>>;
  vfio_mms?: VfioMmFact[];
}

/** container_open: the opening vm, and the container if the name is taken. */
export interface ContainerOpenFacts extends CausedFacts {
  vm: VmFact;
  container: ContainerFact;
}

/** container_close: the container. */
export interface ContainerFacts extends CallerFacts, CausedFacts {
  container: ContainerFact;
}

/** group_attach, group_detach: the container and the group. */
export interface GroupFacts extends ContainerFacts {
  group: GroupFact;
}

/** set_iommu: the container, the caller's mm and its live vfio_mm (shared) or what a new one needs. */
export interface SetIommuFacts extends ContainerFacts {
  caller_mm: string | null;
  live_vfio_mm: VfioMmFact;
  pasid_quota: number;
  capacity_avail: number;
}

/**
 * pasid_alloc, pasid_free, pasid_request (v1 and v7): the container's vfio_mm, what was
 * asked and what decides it (the range's lowest free id and the quota left for an
 * ALLOC; the owner of the PASID a v1 FREE names; for a v7 range FREE, who holds what in it).
 */
export interface PasidFacts extends ContainerFacts {
  vfio_mm: VfioMmFact;
  pasid_quota: number;
  ask: PasidAsk | null;
  range?: { min: number; max: number };
  lowest_free?: number | null;
  quota_left?: number;
  pasid?: number;
  owner?: OwnerFact;
  owned_in_range?: number;
  held_by_others_in_range?: number;
  /** v7: the range passes its first check (min <= max <= 1 << 31). */
  v7_range_ok?: boolean;
  /** v7 range FREE that returned 0: the PASIDs it freed (from its transitions). */
  freed?: number[];
}

/** get_info: the container, its vfio_mm and the profile (which decides the reply's capabilities). */
export interface GetInfoFacts extends ContainerFacts {
  vfio_mm: VfioMmFact;
  profile: Profile;
}

/** set_pasid_quota: the profile, the quota before, and what was asked. */
export interface PasidQuotaFacts extends CausedFacts {
  profile: Profile;
  pasid_quota: number;
  value: number | undefined;
  actor: string | null;
}

/** vcmd_write, vcmd_read: the vm's vIOMMU; for a write, the containers QEMU walks. */
export interface VcmdFacts extends CallerFacts, CausedFacts {
  viommu: ViommuFact;
  containers?: ContainerFact[];
}

/** device_add, device_remove: the function; for an add, its group and the exposure policy. */
export interface DeviceFacts extends CallerFacts, CausedFacts {
  device: DeviceFact;
  group?: GroupFact;
  pasid_cap_exposure?: PasidCapExposure;
}

/** config_read, config_write: the function and where the access lands. */
export interface ConfigAccessFactsOf extends CallerFacts, CausedFacts {
  device: DeviceFact;
  access: ConfigAccessFacts | null;
}

/** The facts of one request, by op family. */
export type ExplainFacts =
  | { kind: 'vm_lifecycle'; facts: VmLifecycleFacts }
  | { kind: 'container_open'; facts: ContainerOpenFacts }
  | { kind: 'container_close'; facts: ContainerFacts }
  | { kind: 'group'; facts: GroupFacts }
  | { kind: 'set_iommu'; facts: SetIommuFacts }
  | { kind: 'pasid'; facts: PasidFacts }
  | { kind: 'get_info'; facts: GetInfoFacts }
  | { kind: 'pasid_quota'; facts: PasidQuotaFacts }
  | { kind: 'vcmd'; facts: VcmdFacts }
  | { kind: 'device'; facts: DeviceFacts }
  | { kind: 'config_access'; facts: ConfigAccessFactsOf }
  /** An op this code does not know (a crafted or later log): read as a PASID request that asks nothing. */
  | { kind: 'unknown_op'; facts: PasidFacts };

/** The facts object of any request (what `RequestExplanation.facts` holds). */
export type RequestFacts = ExplainFacts['facts'];
