import type { Decision } from '../decision.js';
import { deviceSpecProblem } from '../device_spec.js';
import type { HostState } from '../state.js';
import type { EcapSpec, PasidCapSpec } from '../types.js';
import { containerClose, containerOpen, setIommu } from './container.js';
import { configRead, configWrite, deviceAdd, deviceRemove } from './device.js';
import { getInfo } from './get_info.js';
import { groupAttach, groupDetach } from './group.js';
import { pasidAlloc, pasidFree, pasidRequest } from './pasid.js';
import { setPasidQuota } from './pasid_quota.js';
import { vcmdRead, vcmdWrite } from './vcmd.js';
import { vmEnd, vmStart } from './vm.js';

/** What each kind of request field holds: `parseRequest` checks it, the `Request` type is built from it. */
export interface FieldTypes {
  /** A caller-chosen name (vm, container, group, mm token): a non-empty string. */
  id: string;
  text: string;
  u32: number;
  int: number;
  number: number;
  bool: boolean;
  hex: string;
  /** An iommu type, by name or number. */
  type: string | number;
  u64: number;
  bdf: string;
  size: 1 | 2 | 4;
  offset: number;
  pasid_cap: PasidCapSpec;
  ecaps: EcapSpec[];
}
export type FieldKind = keyof FieldTypes;

/** How the audit reads what an op's ALLOC transitions asked for (invariant 7). */
export type AllocKind =
  /** The op never allocates: an ALLOC under it is wrong. */
  | 'never'
  /** Typed `min`/`max` fields. */
  | 'range'
  /** The raw struct's `min`/`max`, decoded in the profile's layout. */
  | 'struct'
  /** A guest's virtual ALLOC command: QEMU asks each container for `[1, 0xFFFFF]`. */
  | 'vcmd'
  /** Not judged. */
  | 'unjudged';

/** Which PASIDs an op's FREE transitions may free (invariant 5, v1). */
export type FreeKind =
  /** None: a FREE under it is wrong. */
  | 'none'
  /** The caller's own, through its container's vfio_mm. */
  | 'own'
  /** Every PASID of a vfio_mm whose last reference the op dropped. */
  | 'cascade'
  /** Those of the vm's containers a guest's FREE command walks. */
  | 'guest'
  /** Not judged. */
  | 'unjudged';

/** One request op: its fields, the check across them, what the kernel does with it, and what the read side may expect of it. */
export interface OpSpec {
  readonly required: Readonly<Record<string, FieldKind>>;
  readonly optional: Readonly<Record<string, FieldKind>>;
  /** A check across fields, after each passed its own: a message, or null. */
  readonly refine?: (req: Readonly<Record<string, unknown>>) => string | null;
  /** What the kernel does: pure, against the host as it is. Typed per op by the checks below. */
  readonly decide: (s: HostState, req: never) => Decision;
  readonly alloc: AllocKind;
  readonly free: FreeKind;
  /** The request names a PCI function by `bdf` (a device's timeline reads it). */
  readonly device: boolean;
}

const CALLER = { vm: 'id', id: 'text' } as const;
const ID = { id: 'text' } as const;

/**
 * Every request op, in the order the README lists them: the one place an op is
 * declared. The request shapes (`parseRequest`, the `Request` type), the decide
 * dispatch and every op list of the read side are derived from it; adding an op is
 * its entry here, its decide function and its tests (docs/adding-an-op.md).
 */
export const OPS = {
  vm_start: { required: { vm: 'id', mm: 'id' }, optional: { ...ID, vccap: 'u32' }, decide: vmStart, alloc: 'never', free: 'none', device: false },
  vm_exit: { required: { vm: 'id' }, optional: ID, decide: (s: HostState, r: { vm: string }) => vmEnd(s, r, 'VM_EXIT'), alloc: 'never', free: 'cascade', device: false },
  vm_crash: { required: { vm: 'id' }, optional: ID, decide: (s: HostState, r: { vm: string }) => vmEnd(s, r, 'VM_CRASH'), alloc: 'never', free: 'cascade', device: false },
  container_open: { required: { vm: 'id', container: 'id' }, optional: ID, decide: containerOpen, alloc: 'never', free: 'none', device: false },
  container_close: { required: { container: 'id' }, optional: CALLER, decide: containerClose, alloc: 'never', free: 'cascade', device: false },
  group_attach: { required: { container: 'id', group: 'id' }, optional: { ...CALLER, iommu_backed: 'bool', noiommu: 'bool' }, decide: groupAttach, alloc: 'never', free: 'none', device: false },
  group_detach: { required: { container: 'id', group: 'id' }, optional: CALLER, decide: groupDetach, alloc: 'never', free: 'cascade', device: false },
  set_iommu: { required: { container: 'id', type: 'type' }, optional: CALLER, decide: setIommu, alloc: 'never', free: 'none', device: false },
  pasid_alloc: { required: { container: 'id', min: 'u32', max: 'u32' }, optional: CALLER, decide: pasidAlloc, alloc: 'range', free: 'none', device: false },
  pasid_free: {
    required: { container: 'id' }, optional: { ...CALLER, pasid: 'u32', min: 'u32', max: 'u32' }, decide: pasidFree, alloc: 'never', free: 'own', device: false,
    refine: (r) => {
      const hasPasid = Object.hasOwn(r, 'pasid');
      const hasRange = Object.hasOwn(r, 'min') || Object.hasOwn(r, 'max');
      if (hasPasid === hasRange) return 'give "pasid" (v1) or "min" and "max" (v7)';
      if (hasRange && !(Object.hasOwn(r, 'min') && Object.hasOwn(r, 'max'))) return 'give both "min" and "max"';
      return null;
    },
  },
  pasid_request: { required: { container: 'id', hex: 'hex' }, optional: CALLER, decide: pasidRequest, alloc: 'struct', free: 'own', device: false },
  set_pasid_quota: { required: { value: 'number' }, optional: { ...ID, actor: 'text' }, decide: setPasidQuota, alloc: 'never', free: 'none', device: false },
  get_info: { required: { container: 'id' }, optional: { ...CALLER, argsz: 'u32' }, decide: getInfo, alloc: 'unjudged', free: 'unjudged', device: false },
  vcmd_write: { required: { vm: 'id', value: 'u64' }, optional: ID, decide: vcmdWrite, alloc: 'vcmd', free: 'guest', device: false },
  vcmd_read: { required: { vm: 'id' }, optional: ID, decide: vcmdRead, alloc: 'unjudged', free: 'unjudged', device: false },
  device_add: {
    required: { group: 'id', bdf: 'bdf' },
    optional: { ...ID, is_vf: 'bool', pasid_cap: 'pasid_cap', ecaps_before: 'ecaps', ecaps_after: 'ecaps', config_hex: 'hex' },
    refine: (r) => deviceSpecProblem(r), decide: deviceAdd, alloc: 'unjudged', free: 'unjudged', device: true,
  },
  device_remove: { required: { bdf: 'bdf' }, optional: ID, decide: deviceRemove, alloc: 'unjudged', free: 'unjudged', device: true },
  config_read: { required: { bdf: 'bdf', offset: 'offset', size: 'size' }, optional: ID, decide: configRead, alloc: 'unjudged', free: 'unjudged', device: true },
  config_write: {
    required: { bdf: 'bdf', offset: 'offset', size: 'size', value: 'u32' }, optional: ID, decide: configWrite, alloc: 'unjudged', free: 'unjudged', device: true,
    refine: (r) => ((r.value as number) >= 2 ** (8 * (r.size as number)) ? `"value" does not fit in ${String(r.size)} byte(s)` : null),
  },
} as const satisfies Record<string, OpSpec>;

/** A request op: a key of the registry. */
export type RequestOp = keyof typeof OPS;

type FieldsOf<F> = { -readonly [K in keyof F]: FieldTypes[F[K] & FieldKind] };

/** The request of one op, as a plain object (a request-file line), built from its registry entry. */
export type RequestOf<O extends RequestOp> =
  { op: O } & FieldsOf<(typeof OPS)[O]['required']> & Partial<FieldsOf<(typeof OPS)[O]['optional']>>;

/** Every request the ledger takes, discriminated by `op`. */
export type Request = { [O in RequestOp]: RequestOf<O> }[RequestOp];

// Compile-time: each op's decide function takes that op's request. (The registry cannot
// say so in its own type without referring to itself.)
type DecideTakes = { [O in RequestOp]: RequestOf<O> extends Parameters<(typeof OPS)[O]['decide']>[1] ? true : false };
const decideTakes: DecideTakes = {
  vm_start: true, vm_exit: true, vm_crash: true, container_open: true, container_close: true, group_attach: true, group_detach: true,
  set_iommu: true, pasid_alloc: true, pasid_free: true, pasid_request: true, set_pasid_quota: true, get_info: true, vcmd_write: true,
  vcmd_read: true, device_add: true, device_remove: true, config_read: true, config_write: true,
};
void decideTakes;

/** The request ops, in the registry's order. */
export const REQUEST_OPS = Object.keys(OPS) as RequestOp[];

/**
 * The registry entry of an op named in a log, or undefined for a name this code does not
 * know (a crafted or later log): the read side reads ops it did not write.
 *
 * @example
 * opSpec('pasid_free')?.free; // 'own'
 * opSpec('toString');         // undefined
 */
export function opSpec(op: string): OpSpec | undefined {
  return Object.hasOwn(OPS, op) ? OPS[op as RequestOp] : undefined;
}

/**
 * The ops whose entry satisfies `pred`, in the registry's order: every op list of the read side.
 *
 * @example
 * opsWhere((o) => o.device); // ['device_add', 'device_remove', 'config_read', 'config_write']
 */
export function opsWhere(pred: (o: OpSpec) => boolean): RequestOp[] {
  return REQUEST_OPS.filter((op) => pred(OPS[op]));
}
