/**
 * The shapes the model computes with and the log persists. Persisted and shown
 * names are the kernel's, in snake_case.
 */

/** Which revision of the VFIO PASID series the host runs (SEMANTICS sections 3-5). */
export type Profile = 'v1' | 'v7';

/** How vfio-pci shows a function's PASID capability to the guest (SEMANTICS section 7). */
export type PasidCapExposure = 'hidden' | 'exposed';

/** The host's configuration: entry 1 of every log; a log replays under it. */
export interface HostConfig {
  profile: Profile;
  pasid_bits: number;
  /** PASIDs the system can hand out in all: `1 << pasid_bits` unless set. */
  capacity: number;
  /** The `pasid_quota` module parameter at load. */
  pasid_quota: number;
  pasid_cap_exposure: PasidCapExposure;
}

/** Fields every request may carry. */
export interface RequestCommon {
  /** The calling process when it is not the container's opener (an fd handed over). */
  vm?: string;
  /** A caller-chosen request id: a retry with the same id returns the recorded outcome. */
  id?: string;
}

export type IommuTypeName = 'VFIO_TYPE1_IOMMU' | 'VFIO_TYPE1v2_IOMMU' | 'VFIO_TYPE1_NESTING_IOMMU' | 'VFIO_NOIOMMU_IOMMU' | 'VFIO_SPAPR_TCE_IOMMU';

/** Every request the ledger takes, as a plain object (the request-file line format). */
export type Request =
  | ({ op: 'vm_start'; vm: string; mm: string } & Omit<RequestCommon, 'vm'>)
  | ({ op: 'vm_exit' | 'vm_crash'; vm: string } & Omit<RequestCommon, 'vm'>)
  | ({ op: 'container_open'; vm: string; container: string } & Omit<RequestCommon, 'vm'>)
  | ({ op: 'group_attach'; container: string; group: string; iommu_backed?: boolean; noiommu?: boolean } & RequestCommon)
  | ({ op: 'group_detach'; container: string; group: string } & RequestCommon)
  | ({ op: 'set_iommu'; container: string; type: string | number } & RequestCommon)
  | ({ op: 'pasid_alloc'; container: string; min: number; max: number } & RequestCommon)
  | ({ op: 'pasid_free'; container: string; pasid?: number; min?: number; max?: number } & RequestCommon)
  | ({ op: 'pasid_request'; container: string; hex: string } & RequestCommon)
  | ({ op: 'container_close'; container: string } & RequestCommon)
  | ({ op: 'set_pasid_quota'; value: number; actor?: string } & Omit<RequestCommon, 'vm'>);

export type RequestOp = Request['op'];

/** What the caller sees, and what the ledger recorded beside it. */
export interface Outcome {
  /** The seq of the request's entry in the log. */
  seq: number;
  /** The ioctl's return: 0, a PASID (v7 ALLOC) or a negative errno. */
  ret: number;
  /** The PASID handed out (ALLOC) or named (FREE), where one applies. */
  pasid: number | null;
  /** The real reason behind a failure (or a quirk behind a success): the kernel's errno hides it. */
  reason: string | null;
  /** The struct as the ioctl leaves it in the caller's buffer (hex), for raw PASID requests. */
  hex?: string;
  /** True when a request id matched an earlier request: nothing new was written. */
  replayed?: boolean;
}

/** The machines a transition can name. */
export type MachineName = 'vm' | 'container' | 'group' | 'vfio_mm' | 'pasid' | 'module_param' | 'device';

/** A transition before the ledger gives it a seq, a time and a cause. */
export interface TransitionDraft {
  machine: MachineName;
  event: string;
  from: string;
  to: string;
  [field: string]: unknown;
}

/** Entry 1: the configuration the log was written with. */
export interface ConfigEntry extends HostConfig {
  seq: 1;
  at: string;
  type: 'config';
  format: 1;
}

/** One request with its outcome. */
export interface RequestEntry {
  seq: number;
  at: string;
  type: 'request';
  op: RequestOp;
  /** The calling vm (resolved: the container's opener unless the request named one); absent for an admin. */
  vm?: string;
  /** The request as given, without its id. */
  req: Record<string, unknown>;
  id?: string;
  ret: number;
  pasid?: number;
  reason?: string;
  hex?: string;
}

/** One state change of one machine, caused by the request at `cause`. */
export interface TransitionEntry extends TransitionDraft {
  seq: number;
  at: string;
  type: 'transition';
  cause: number;
}

export type Entry = ConfigEntry | RequestEntry | TransitionEntry;
