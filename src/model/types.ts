import type { TokenEntry } from './token.js';

/**
 * The shapes the model computes with and the log persists. Persisted and shown
 * names are the kernel's, in snake_case.
 */
import type { Reason } from './reason.js';
import type { Transition } from './transitions.js';

export type { Reason } from './reason.js';

/** Which revision of the VFIO PASID series the host runs (docs/kernel-behaviour.md sections 3-5). */
export type Profile = 'v1' | 'v7';

/** How vfio-pci shows a function's PASID capability to the guest (docs/kernel-behaviour.md section 7). */
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

/** Every request the ledger takes, as a plain object (the request-file line format): built from the op registry. */
import type { RequestOp } from './ops/registry.js';

export type { Request, RequestOf, RequestOp } from './ops/registry.js';

/**
 * The PASID extended capability of a device described by its fields (`device_add`).
 * `offset` is where it sits in config space; 0x100 when no capability is chained before it.
 */
export interface PasidCapSpec {
  exec: boolean;
  priv: boolean;
  /** Max PASID width, 0..31 (PCIe defines up to 20). */
  width: number;
  offset?: number;
}

/** Another extended capability in a device's chain: its id and where its header sits. Its body reads as zeros. */
export interface EcapSpec {
  id: number;
  offset: number;
  version?: number;
}

/**
 * The kernel's answer to one request: the one definition behind `Decision` (what
 * `decide` concludes), `RequestEntry` (what the log records) and `Outcome` (what the
 * caller sees). A field added here is added to all three.
 */
export interface Answer {
  /** The ioctl's return: 0, a PASID (v7 ALLOC) or a negative errno. */
  ret: number;
  /** The PASID handed out (ALLOC) or named (FREE), where one applies. */
  pasid?: number;
  /** The real reason behind a failure (or a quirk behind a success): the kernel's errno hides it. */
  reason?: Reason;
  /** The struct as the ioctl leaves it in the caller's buffer (hex), for raw PASID requests. */
  hex?: string;
  /** What a GET_INFO reply means (get_info): page sizes, capabilities, PASID requests supported. */
  info?: IommuInfoMeaning;
  /** A register or config-space value the guest reads (vcmd_read, config_read) or the VCRSP a vcmd_write left. */
  value?: number;
}

/** What the caller sees, and what the ledger recorded beside it: an `Answer` with `pasid` and `reason` always present. */
export interface Outcome extends Omit<Answer, 'pasid' | 'reason'> {
  /** The seq of the request's entry in the log. */
  seq: number;
  pasid: number | null;
  reason: Reason | null;
  /** True when a request id matched an earlier request: nothing new was written. */
  replayed?: boolean;
}

/** The meaning of a `VFIO_IOMMU_GET_INFO` reply, decoded from the bytes the kernel wrote. */
export interface IommuInfoMeaning {
  /** The argsz the kernel wrote back: raised to the size needed when the caps did not fit. */
  argsz: number;
  flags: number;
  /** `iova_pgsizes` as hex (a u64 does not fit a JSON number). */
  iova_pgsizes: string;
  /** Every capability found in the chain the caller received. */
  caps: Array<{ id: number; version: number; offset: number; next: number; nesting_capabilities?: number }>;
  /** A capability chain exists but the caller's argsz was too small to receive it. */
  caps_truncated: boolean;
  /** The reply holds the nesting capability (v1: a NESTING container, with an argsz that fits it). */
  nesting: boolean;
  /**
   * PASID ALLOC/FREE requests are supported, as the reply says: v1, the nesting cap's
   * `VFIO_IOMMU_PASID_REQS` (false when the chain did not fit); v7, whose nesting cap
   * is not encoded, whether the container holds a vfio_mm.
   */
  pasid_reqs: boolean;
}

/** The machines a transition can name. */
export type MachineName = 'vm' | 'container' | 'group' | 'vfio_mm' | 'pasid' | 'module_param' | 'device' | 'viommu';

/** A transition before the ledger gives it a seq, a time and a cause: one of `Transition`, discriminated by machine and event. */
export type TransitionDraft = Transition;

/** Entry 1: the configuration the log was written with. */
export interface ConfigEntry extends HostConfig {
  seq: 1;
  at: string;
  type: 'config';
  format: 1;
}

/** One request with its outcome. */
export interface RequestEntry extends Answer {
  seq: number;
  at: string;
  type: 'request';
  op: RequestOp;
  /** The calling vm (resolved: the container's opener unless the request named one); absent for an admin. */
  vm?: string;
  /** The request as given, without its id. */
  req: Record<string, unknown>;
  id?: string;
  /** The server token the request came through (absent for a library or CLI writer). */
  by?: string;
}

/** One state change of one machine, caused by the request at `cause`. */
export type TransitionEntry = Transition & {
  seq: number;
  at: string;
  type: 'transition';
  cause: number;
};

/**
 * A snapshot the ledger took of the host just after entry `of_seq` (= seq - 1):
 * `digest` is the SHA-256 of the blob stored for it, in `format`. It changes nothing
 * in the host; it binds the cached blob to the chained log, and an audit that replays
 * the log checks the digest against the state it rebuilt.
 */
export interface SnapshotEntry {
  seq: number;
  at: string;
  type: 'snapshot';
  of_seq: number;
  format: string;
  digest: string;
}

export type Entry = ConfigEntry | RequestEntry | TransitionEntry | SnapshotEntry | TokenEntry;

/** The transition entries of one machine (or several), narrowed from `TransitionEntry`. */
export type TransitionEntryOf<M extends MachineName> = Extract<TransitionEntry, { machine: M }>;
