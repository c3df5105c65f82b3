import type { Request } from './types.js';

/** A request the ledger cannot even hand to the kernel: a caller's bug, or a bad line in a file. */
export class RequestError extends TypeError {
  override name = 'RequestError';
}

type FieldKind = 'id' | 'u32' | 'int' | 'bool' | 'hex' | 'type' | 'number' | 'text';
interface OpShape { required: Record<string, FieldKind>; optional: Record<string, FieldKind> }

const CALLER = { vm: 'id', id: 'text' } as const;
const SHAPES: Record<Request['op'], OpShape> = {
  vm_start: { required: { vm: 'id', mm: 'id' }, optional: { id: 'text' } },
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
};

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
  return obj as Request;
}
