import type { EventFromLogic } from 'xstate';
import type { MACHINES } from './step.js';
import type { PasidView } from './device_image.js';
import type { Reason } from './reason.js';
import type { EcapSpec, MachineName, PasidCapExposure, PasidCapSpec } from './types.js';

/** One try of a guest's virtual command on one of its vm's containers. */
export interface VcmdTry {
  container: string;
  ret: number;
  reason?: Reason;
  pasid?: number;
}

/**
 * The fields each transition records, by machine and event: what `evolve` applies and
 * what the audit, timeline and diff read. Persisted in snake_case, the kernel's names.
 * The events of each machine are its xstate events (checked below): a machine's new
 * event without its fields here is a compile error.
 */
export interface TransitionFields {
  vm: {
    VM_START: { vm: string; mm: string; vccap?: number };
    VM_EXIT: { vm: string; mm: string };
    VM_CRASH: { vm: string; mm: string };
  };
  container: {
    OPEN: { container: string; vm: string };
    SET_IOMMU: { container: string; vm: string; iommu_type: string };
    LAST_GROUP_DETACH: { container: string; vm: string };
    CLOSE: { container: string; vm: string };
  };
  group: {
    SET_CONTAINER: { group: string; container: string; iommu_backed: boolean; noiommu: boolean };
    UNSET_CONTAINER: { group: string; container: string };
  };
  vfio_mm: {
    CREATE: { vfio_mm: number; mm: string; gen: number; container: string; refs: number; quota: number; set_quota: number };
    GET: { vfio_mm: number; mm: string; container: string; refs: number };
    PUT: { vfio_mm: number; mm: string; container: string; refs: number };
    /** The last ref went: `freed` PASIDs were freed (each its own transition, before this one), `set_quota` returns to capacity. */
    RELEASE: { vfio_mm: number; mm: string; container: string; refs: 0; freed: number; set_quota: number };
    /** v1's lazy adjust at ALLOC: `ret` is the allocator's answer; on failure the set keeps `old_set_quota` (quirk). */
    QUOTA_ADJUST: { vfio_mm: number; mm: string; quota: number; set_quota: number; old_set_quota: number; ret: number };
  };
  pasid: {
    ALLOC: { pasid: number; vfio_mm: number; mm: string; container: string };
    /** `container` is absent when the set's destruction frees it (a vfio_mm's release). */
    FREE: { pasid: number; vfio_mm: number; mm: string; container?: string };
  };
  module_param: {
    SET: { name: 'pasid_quota'; old: number; value: number; actor?: string };
  };
  device: {
    ADD: {
      bdf: string; group: string; is_vf: boolean; pasid_cap?: PasidCapSpec; ecaps_before?: EcapSpec[]; ecaps_after?: EcapSpec[]; config_hex?: string;
      cfg_size: number; pasid_view: PasidView; pasid_offset: number | null; exposure: PasidCapExposure;
    };
    REMOVE: { bdf: string; group: string };
    /** The chunks that reached the hardware; `pasid_ctrl` the PASID control register after them, when the function has the capability. */
    CONFIG_WRITE: { bdf: string; group: string; vm: string; raw: Array<{ offset: number; hex: string }>; pasid_ctrl?: number };
  };
  viommu: {
    VCMD_START: { vm: string; cmd: number; value: number; vcrsp: number };
    VCMD_DONE: { vm: string; cmd: number; status: number; vcrsp: number; pasid?: number; tries: VcmdTry[] };
  };
}

/** The events of one machine, as xstate knows them. */
export type EventOf<M extends MachineName> = EventFromLogic<(typeof MACHINES)[M]>['type'];

/** One transition of machine `M` on event `E`, with its fields. */
export type TransitionOf<M extends MachineName, E extends keyof TransitionFields[M]> =
  { machine: M; event: E; from: string; to: string } & TransitionFields[M][E];

/** Every transition, discriminated by `machine` then `event`. */
export type Transition = { [M in MachineName]: { [E in keyof TransitionFields[M]]: TransitionOf<M, E> }[keyof TransitionFields[M]] }[MachineName];

// Compile-time: the events listed above are exactly each machine's xstate events.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type EventsMatch = { [M in MachineName]: Same<keyof TransitionFields[M], EventOf<M>> };
const eventsMatch: EventsMatch = { vm: true, container: true, group: true, vfio_mm: true, pasid: true, module_param: true, device: true, viommu: true };
void eventsMatch;
