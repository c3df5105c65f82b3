import { BDF_RE, deviceSpecProblem } from './device_spec.js';
import type { Request } from './types.js';

/** A request the ledger cannot even hand to the kernel: a caller's bug, or a bad line in a file. */
export class RequestError extends TypeError {
  override name = 'RequestError';
}

type FieldKind = 'id' | 'u32' | 'int' | 'bool' | 'hex' | 'type' | 'number' | 'text' | 'u64' | 'bdf' | 'size' | 'offset' | 'spec';
interface OpShape { required: Record<string, FieldKind>; optional: Record<string, FieldKind> }

const CALLER = { vm: 'id', id: 'text' } as const;
const SHAPES: Record<Request['op'], OpShape> = {
  vm_start: { required: { vm: 'id', mm: 'id' }, optional: { id: 'text', vccap: 'u32' } },
  vm_exit: { required: { vm: 'id' }, optional: { id: 'text' } },
  vm_crash: { required: { vm: 'id' }, optional: { id: 'text' } },
  container_open: { required: { vm: 'id', container: 'id' }, optional: { id: 'text' } },
  container_close: { required: { container: 'id' }, optional: CALLER },
  group_attach: { required: { container: 'id', group: 'id' }, optional: { ...CALLER, iommu_backed: 'bool', noiommu: 'bool' } },
  group_detach: { required: { container: 'id', group: 'id' }, optional: CALLER },
  set_iommu: { required: { container: 'id', type: 'type' }, optional: CALLER },
  pasid_alloc: { required: { container: 'id', min: 'u32', max: 'u32' }, optional: CALLER },
  pasid_free: { required: { container: 'id' }, optional: { ...CALLER, pasid: 'u32', min: 'u32', max: 'u32' } },
  pasid_request: { required: { container: 'id', hex: 'hex' }, optional: CALLER },
  set_pasid_quota: { required: { value: 'number' }, optional: { id: 'text', actor: 'text' } },
  get_info: { required: { container: 'id' }, optional: { ...CALLER, argsz: 'u32' } },
  vcmd_write: { required: { vm: 'id', value: 'u64' }, optional: { id: 'text' } },
  vcmd_read: { required: { vm: 'id' }, optional: { id: 'text' } },
  device_add: {
    required: { group: 'id', bdf: 'bdf' },
    optional: { id: 'text', is_vf: 'bool', pasid_cap: 'spec', ecaps_before: 'spec', ecaps_after: 'spec', config_hex: 'hex' },
  },
  device_remove: { required: { bdf: 'bdf' }, optional: { id: 'text' } },
  config_read: { required: { bdf: 'bdf', offset: 'offset', size: 'size' }, optional: { id: 'text' } },
  config_write: { required: { bdf: 'bdf', offset: 'offset', size: 'size', value: 'u32' }, optional: { id: 'text' } },
};

/**
 * Offsets a config access may name: the low 40 bits of a vfio-pci region offset
 * (`VFIO_PCI_OFFSET_MASK`); higher bits would select another region, so such an offset
 * is not a config access at all. Whether it lies inside the function's config space is
 * the kernel's check (-EFAULT).
 */
const CONFIG_OFFSET_MAX = 2 ** 40 - 1;

/** The request ops, in the order the README lists them. */
export const REQUEST_OPS = Object.keys(SHAPES) as Request['op'][];

const MAX_TEXT = 256;

function check(kind: FieldKind, v: unknown): string | null {
  switch (kind) {
    case 'id':
    case 'text':
      if (typeof v !== 'string') return 'must be a string';
      if (kind === 'id' && v.length === 0) return 'must not be empty';
      return v.length > MAX_TEXT ? `is longer than ${MAX_TEXT} characters` : null;
    case 'u32':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? null : 'must be an integer in 0..4294967295 (a u32 field of the struct)';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? null : 'must be an integer';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'must be a number';
    case 'bool':
      return typeof v === 'boolean' ? null : 'must be true or false';
    case 'hex':
      if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) return 'must be hex digits, two per byte';
      return v.length > 2 * 4096 ? 'is longer than 4096 bytes' : null;
    case 'type':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)) ? null : 'must be an iommu type name or number';
    case 'u64':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'must be an integer in 0..2^53-1 (a 64-bit register, exact in JSON)';
    case 'bdf':
      return typeof v === 'string' && BDF_RE.test(v) ? null : 'must be a PCI address like "0000:3b:00.0" (domain:bus:device.function, lower-case hex, device 00..1f, function 0..7)';
    case 'size':
      return v === 1 || v === 2 || v === 4 ? null : 'must be 1, 2 or 4 (bytes)';
    case 'offset':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= CONFIG_OFFSET_MAX ? null : 'must be an integer in 0..2^40-1 (a config-space offset)';
    case 'spec':
      return null;
  }
}

/**
 * Checks that a value is a well-formed request and returns it typed. Well-formed is
 * about shape only (known op, fields of the right type, u32 fields in range, no
 * unknown fields); whether the kernel accepts it is `decide`'s business.
 *
 * @throws RequestError naming the first thing wrong.
 * @example
 * parseRequest({ op: 'pasid_alloc', container: 'c1', min: 1, max: 1048575 });
 * parseRequest({ op: 'pasid_alloc', container: 'c1' }); // RequestError: pasid_alloc: missing "min"
 */
export function parseRequest(value: unknown): Request {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RequestError('a request must be a JSON object');
  const obj = value as Record<string, unknown>;
  const op = obj.op;
  if (typeof op !== 'string' || !Object.hasOwn(SHAPES, op)) {
    throw new RequestError(`unknown op ${JSON.stringify(op)}: expected one of ${REQUEST_OPS.join(', ')}`);
  }
  const shape = SHAPES[op as Request['op']];
  for (const [k, kind] of Object.entries(shape.required)) {
    if (!(k in obj)) throw new RequestError(`${op}: missing "${k}"`);
    const why = check(kind, obj[k]);
    if (why) throw new RequestError(`${op}: "${k}" ${why}`);
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'op' || k in shape.required) continue;
    const kind = shape.optional[k];
    if (!kind) throw new RequestError(`${op}: unknown field "${k}"`);
    const why = check(kind, v);
    if (why) throw new RequestError(`${op}: "${k}" ${why}`);
  }
  if (op === 'pasid_free') {
    const hasPasid = 'pasid' in obj;
    const hasRange = 'min' in obj || 'max' in obj;
    if (hasPasid === hasRange) throw new RequestError('pasid_free: give "pasid" (v1) or "min" and "max" (v7)');
    if (hasRange && !('min' in obj && 'max' in obj)) throw new RequestError('pasid_free: give both "min" and "max"');
  }
  if (op === 'device_add') {
    const why = deviceSpecProblem(obj);
    if (why) throw new RequestError(`device_add: ${why}`);
  }
  if (op === 'config_write' && (obj.value as number) >= 2 ** (8 * (obj.size as number))) {
    throw new RequestError(`config_write: "value" does not fit in ${String(obj.size)} byte(s)`);
  }
  return obj as Request;
}

/** The kind of a request field: what `parseRequest` checks it against (the OpenAPI schema is generated from these). */
export type RequestFieldKind = FieldKind;

/**
 * The shape of every op: required and optional fields with their kinds. Read-only
 * data for generators (the OpenAPI document); `parseRequest` is the check.
 *
 * @example
 * requestShape('pasid_alloc').required; // { container: 'id', min: 'u32', max: 'u32' }
 */
export function requestShape(op: Request['op']): { required: Readonly<Record<string, FieldKind>>; optional: Readonly<Record<string, FieldKind>> } {
  return SHAPES[op];
}
