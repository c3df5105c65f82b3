import { opSpec, type FieldKind, type RequestOf, type RequestOp } from '../../model/ops/registry.js';
import type { RequestEntry } from '../../model/types.js';

/** The structured fields (device specs) that `explain` does not read: left out of a recorded request. */
type Structured = 'pasid_cap' | 'ecaps_before' | 'ecaps_after';

/**
 * A request of one op as a log recorded it, read without trusting the log: each scalar
 * field the op's registry entry names is present only when it has its kind's JS type
 * (a crafted log may hold anything). Device specs are left out. A union of ops gives the
 * union of their recorded requests, discriminated by `op`.
 */
export type Recorded<O extends RequestOp> = O extends RequestOp ? { op: O } & Partial<Omit<RequestOf<O>, 'op' | Structured>> : never;

/** A recorded request of any op the registry knows, discriminated by `op`. */
export type RecordedRequest = Recorded<RequestOp>;

const fits = (kind: FieldKind, v: unknown): boolean => {
  switch (kind) {
    case 'id': case 'text': case 'hex': case 'bdf':
      return typeof v === 'string';
    case 'u32': case 'int': case 'number': case 'u64': case 'offset':
      return typeof v === 'number';
    case 'size':
      return v === 1 || v === 2 || v === 4;
    case 'bool':
      return typeof v === 'boolean';
    case 'type':
      return typeof v === 'string' || typeof v === 'number';
    case 'pasid_cap': case 'ecaps':
      return false;
  }
};

/**
 * The entry's request, narrowed by its op: every field the op's registry entry names,
 * kept when its recorded value has the field's type, dropped otherwise. Null for an op
 * this code does not know (a crafted or later log). Never throws.
 *
 * @example
 * const r = requestOf(entry);
 * if (r?.op === 'pasid_alloc') r.min; // number | undefined
 */
export function requestOf(e: RequestEntry): RecordedRequest | null {
  const spec = opSpec(e.op);
  if (!spec) return null;
  const out: Record<string, unknown> = { op: e.op };
  for (const [k, kind] of [...Object.entries(spec.required), ...Object.entries(spec.optional)]) {
    if (Object.hasOwn(e.req, k) && fits(kind, e.req[k])) out[k] = e.req[k];
  }
  // Sound: `op` is a registry op and each field kept has its kind's type.
  return out as RecordedRequest;
}
