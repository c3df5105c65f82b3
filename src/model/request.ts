import { BDF_RE } from './device_spec.js';
import { NotPlainData, plainCopy, type PlainCopyOptions } from './plain_data.js';
import { quote, quoteKey } from './quote.js';
import { OPS, REQUEST_OPS, type FieldKind, type OpSpec, type RequestOp } from './ops/registry.js';
import type { Request } from './types.js';
import { PCI_CFG_SPACE_EXP_SIZE } from '../uapi/pci_pasid_cap.js';

export { REQUEST_OPS };

/** A request the ledger cannot even hand to the kernel: a caller's bug, or a bad line in a file. */
export class RequestError extends TypeError {
  override name = 'RequestError';
}

/**
 * A malformed request inside a batch: `index` is its place in the batch (0-based). The
 * message starts `request <index>: `; nothing of the batch was written.
 *
 * @example
 * try { ledger.batch(reqs); } catch (e) { if (e instanceof BatchRequestError) console.error(`line ${e.index + 1}`); }
 */
export class BatchRequestError extends RequestError {
  override name = 'BatchRequestError';
  constructor(readonly index: number, readonly detail: string) {
    super(`request ${index}: ${detail}`);
  }
}


/**
 * Offsets a config access may name: the low 40 bits of a vfio-pci region offset
 * (`VFIO_PCI_OFFSET_MASK`); higher bits would select another region, so such an offset
 * is not a config access at all. Whether it lies inside the function's config space is
 * the kernel's check (-EFAULT).
 */
const CONFIG_OFFSET_MAX = 2 ** 40 - 1;

/** The longest text field (a name, an actor) a request may carry, in characters: a limit of this project. */
const MAX_TEXT = 256;

/** The longest hex field, in bytes: a whole extended config space (`PCI_CFG_SPACE_EXP_SIZE`, a device's `config_hex`). */
const MAX_HEX_BYTES = PCI_CFG_SPACE_EXP_SIZE;

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
      return v.length > 2 * MAX_HEX_BYTES ? `is longer than ${MAX_HEX_BYTES} bytes` : null;
    case 'type':
      if (typeof v === 'string') return v.length > MAX_TEXT ? `is longer than ${MAX_TEXT} characters` : null;
      return typeof v === 'number' && Number.isInteger(v) ? null : 'must be an iommu type name or number';
    case 'u64':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'must be an integer in 0..2^53-1 (a 64-bit register, exact in JSON)';
    case 'bdf':
      return typeof v === 'string' && BDF_RE.test(v) ? null : 'must be a PCI address like "0000:3b:00.0" (domain:bus:device.function, lower-case hex, device 00..1f, function 0..7)';
    case 'size':
      return v === 1 || v === 2 || v === 4 ? null : 'must be 1, 2 or 4 (bytes)';
    case 'offset':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= CONFIG_OFFSET_MAX ? null : 'must be an integer in 0..2^40-1 (a config-space offset)';
    case 'pasid_cap':
    case 'ecaps':
      // Checked as a whole by device_add's refine (deviceSpecProblem).
      return null;
  }
}

/**
 * Checks that a value is a well-formed request and returns it typed, as a fresh plain
 * object. Well-formed is about shape only (known op, fields of the right type, u32
 * fields in range, no unknown fields); whether the kernel accepts it is `decide`'s
 * business. A request is plain data: own enumerable data fields of a plain object
 * (prototype `Object.prototype` or null), nested no deeper than the `device_add`
 * fields need, strings with a UTF-8 form. Each field is read once, through its
 * descriptor: the returned copy is exactly what was checked, whatever the caller's
 * object does later.
 *
 * @param opts.isExotic tells a Proxy (the ledger passes `util.types.isProxy`).
 * @throws RequestError naming the first thing wrong (a value is quoted to 80
 * characters at most); never any other error, whatever the value.
 * @example
 * parseRequest({ op: 'pasid_alloc', container: 'c1', min: 1, max: 1048575 });
 * parseRequest({ op: 'pasid_alloc', container: 'c1' }); // RequestError: pasid_alloc: missing "min"
 * parseRequest({ op: 'vm_exit', vm: 'a', get id() { return 'x'; } }); // RequestError: "id" is a getter or setter, not a data field
 */
export function parseRequest(value: unknown, opts: PlainCopyOptions = {}): Request {
  if (typeof value !== 'object' || value === null) throw new RequestError('a request must be a JSON object');
  let obj: Record<string, unknown>;
  try {
    if (Array.isArray(value)) throw new RequestError('a request must be a JSON object');
    obj = plainCopy(value, '', 0, opts) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof RequestError) throw e;
    if (e instanceof NotPlainData) throw new RequestError(e.message);
    // A Proxy's trap or a revoked Proxy threw while being read (the ledger refuses Proxies before this).
    throw new RequestError(`the request could not be read as plain data (${thrownText(e)})`);
  }
  const op = obj.op;
  if (typeof op !== 'string' || !Object.hasOwn(OPS, op)) {
    throw new RequestError(`unknown op ${quote(op)}: expected one of ${REQUEST_OPS.join(', ')}`);
  }
  const shape: OpSpec = OPS[op as RequestOp];
  for (const [k, kind] of requiredFields(shape)) {
    if (!Object.hasOwn(obj, k)) throw new RequestError(`${op}: missing "${k}"`);
    const why = check(kind, obj[k]);
    if (why) throw new RequestError(`${op}: "${k}" ${why}`);
  }
  for (const k of Object.keys(obj)) {
    if (k === 'op' || Object.hasOwn(shape.required, k)) continue;
    const kind = Object.hasOwn(shape.optional, k) ? shape.optional[k] : undefined;
    if (!kind) throw new RequestError(`${op}: unknown field "${quoteKey(k)}"`);
    const why = check(kind, obj[k]);
    if (why) throw new RequestError(`${op}: "${k}" ${why}`);
  }
  const why = shape.refine?.(obj);
  if (why) throw new RequestError(`${op}: ${why}`);
  return obj as unknown as Request;
}

/** Each op's required fields in their declared order, listed once (parseRequest runs for every request). */
const REQUIRED = new Map<OpSpec, ReadonlyArray<readonly [string, FieldKind]>>();

function requiredFields(shape: OpSpec): ReadonlyArray<readonly [string, FieldKind]> {
  let fields = REQUIRED.get(shape);
  if (fields === undefined) {
    fields = Object.entries(shape.required);
    REQUIRED.set(shape, fields);
  }
  return fields;
}

/** What a foreign exception says, quoted; its own getters or `toString` may throw too. */
function thrownText(e: unknown): string {
  try {
    return quote(e instanceof Error ? e.message : String(e));
  } catch {
    return 'an exception';
  }
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
  const { required, optional }: OpSpec = OPS[op];
  return { required, optional };
}
