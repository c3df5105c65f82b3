/**
 * `struct vfio_iommu_type1_pasid_request` of the v1 series (profile v1):
 *
 * ```c
 * struct vfio_iommu_type1_pasid_request {
 *         __u32   argsz;                         // @0
 *         __u32   flags;                         // @4  ALLOC 1, FREE 2
 *         union {
 *                 struct {
 *                         __u32 min;             // @8
 *                         __u32 max;             // @12
 *                         __u32 result;          // @16 written back on ALLOC
 *                 } alloc_pasid;
 *                 __u32 free_pasid;              // @8
 *         };
 * };                                             // sizeof 20
 * ```
 *
 * The kernel copies `minsz` = offsetofend(flags) = 8 bytes first, validates
 * `argsz` and `flags`, and only then copies the rest of `sizeof` (20) bytes,
 * whatever `argsz` says. A user buffer shorter than what is being copied
 * makes copy_from_user fail: -EFAULT.
 * @module
 */
import { EFAULT, EINVAL } from './errno.js';
import { VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE, VFIO_PASID_REQUEST_MASK } from './vfio.js';
import { assertU32, readU32LE, writeU32LE } from './bytes.js';

/** `sizeof(struct vfio_iommu_type1_pasid_request)` in v1. @example PASID_REQUEST_V1_SIZEOF // 20 */
export const PASID_REQUEST_V1_SIZEOF = 20;
/** `offsetofend(struct vfio_iommu_type1_pasid_request, flags)`: the first copy. @example PASID_REQUEST_V1_MINSZ // 8 */
export const PASID_REQUEST_V1_MINSZ = 8;

/**
 * Fields to build a v1 request from. `pasid` (FREE) and `min` (ALLOC) share
 * offset 8, so giving both with different values is an error.
 * @example const f: PasidRequestV1Fields = { flags: VFIO_IOMMU_PASID_ALLOC, min: 1, max: 0xFFFFF }
 */
export interface PasidRequestV1Fields {
  /** Defaults to {@link PASID_REQUEST_V1_SIZEOF}. */
  argsz?: number;
  flags: number;
  min?: number;
  max?: number;
  result?: number;
  pasid?: number;
}

/**
 * Build the 20 bytes of a v1 request, little-endian; absent fields are 0.
 * Throws RangeError for a value that is not a `__u32`, or for `pasid` and
 * `min` disagreeing (they are the same bytes). Any flags value is accepted:
 * building bad requests is how the kernel's checks are exercised.
 * @example encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_FREE, pasid: 5 })
 * // 14000000 02000000 05000000 00000000 00000000
 */
export function encodePasidRequestV1(fields: PasidRequestV1Fields): Uint8Array {
  const argsz = fields.argsz ?? PASID_REQUEST_V1_SIZEOF;
  assertU32('argsz', argsz);
  assertU32('flags', fields.flags);
  const { min, max, result, pasid } = fields;
  if (min !== undefined) assertU32('min', min);
  if (max !== undefined) assertU32('max', max);
  if (result !== undefined) assertU32('result', result);
  if (pasid !== undefined) assertU32('pasid', pasid);
  if (pasid !== undefined && min !== undefined && pasid !== min) {
    throw new RangeError('pasid and min share offset 8 (a union); give one, or equal values');
  }
  const buf = new Uint8Array(PASID_REQUEST_V1_SIZEOF);
  writeU32LE(buf, 0, argsz);
  writeU32LE(buf, 4, fields.flags);
  writeU32LE(buf, 8, pasid ?? min ?? 0);
  writeU32LE(buf, 12, max ?? 0);
  writeU32LE(buf, 16, result ?? 0);
  return buf;
}

/**
 * What a buffer holds at each v1 offset, with no judgement: a field is null
 * when the buffer ends before it. `pasid` and `min` read the same bytes.
 * @example readPasidRequestV1(new Uint8Array(8)).min // null
 */
export interface PasidRequestV1View {
  length: number;
  argsz: number | null;
  flags: number | null;
  min: number | null;
  max: number | null;
  result: number | null;
  pasid: number | null;
}

/**
 * Read a v1 request's fields as far as the buffer reaches. Never throws,
 * never reads past `buf`. The caller applies the kernel's checks (or uses
 * {@link decodePasidRequestV1}).
 * @example readPasidRequestV1(encodePasidRequestV1({ flags: 1, min: 1, max: 9 })).max // 9
 */
export function readPasidRequestV1(buf: Uint8Array): PasidRequestV1View {
  return {
    length: buf.length,
    argsz: readU32LE(buf, 0),
    flags: readU32LE(buf, 4),
    min: readU32LE(buf, 8),
    max: readU32LE(buf, 12),
    result: readU32LE(buf, 16),
    pasid: readU32LE(buf, 8),
  };
}

/**
 * Write an allocated PASID into `result@16`, as the kernel's copy_to_user
 * does on ALLOC success. Returns false (and writes nothing) when the buffer
 * is shorter than 20 bytes. Throws RangeError if `pasid` is not a `__u32`.
 * @example const b = encodePasidRequestV1({ flags: 1 }); writePasidResultV1(b, 7) // true
 */
export function writePasidResultV1(buf: Uint8Array, pasid: number): boolean {
  assertU32('pasid', pasid);
  if (buf.length < PASID_REQUEST_V1_SIZEOF) return false;
  writeU32LE(buf, 16, pasid);
  return true;
}

/**
 * Reasons {@link decodePasidRequestV1} can record, as in docs/kernel-behaviour.md section 4.
 * @example const r: PasidRequestV1Reason = 'both_flags'
 */
export type PasidRequestV1Reason = 'short_buffer' | 'bad_argsz' | 'unknown_flags' | 'both_flags' | 'no_flag';

/**
 * Outcome of the buffer-level checks of a v1 request: the operation and its
 * fields, or the negative errno the caller sees with the reason to record.
 * @example const d: PasidRequestV1Decoded = { ok: false, errno: -22, reason: 'no_flag' }
 */
export type PasidRequestV1Decoded =
  | { ok: true; op: 'alloc'; argsz: number; flags: number; min: number; max: number; result: number }
  | { ok: true; op: 'free'; argsz: number; flags: number; pasid: number }
  | { ok: false; errno: number; reason: PasidRequestV1Reason };

/**
 * Apply the kernel's buffer checks to a v1 request, in its order (docs/kernel-behaviour.md
 * section 4, checks 2 to 7); the first failure decides:
 *
 * 2. buffer < minsz (8): -EFAULT `short_buffer` (first copy_from_user)
 * 3. argsz < minsz: -EINVAL `bad_argsz`
 * 4. flag bits other than ALLOC|FREE: -EINVAL `unknown_flags`
 * 5. ALLOC and FREE both set: -EINVAL `both_flags`
 * 6. buffer < sizeof (20), whatever argsz says: -EFAULT `short_buffer`
 *    (second copy_from_user of the remaining 12 bytes)
 * 7. neither flag: -EINVAL `no_flag` (the switch's default)
 *
 * Check 1 (no IOMMU set: -EINVAL) precedes all of these and the per-op
 * checks (domain, vfio_mm, quota, range) follow; both are the model's.
 * Never throws, never reads past `buf`.
 * @example decodePasidRequestV1(encodePasidRequestV1({ flags: 3 }))
 * // { ok: false, errno: -22, reason: 'both_flags' }
 */
export function decodePasidRequestV1(buf: Uint8Array): PasidRequestV1Decoded {
  const v = readPasidRequestV1(buf);
  if (v.argsz === null || v.flags === null) return { ok: false, errno: -EFAULT, reason: 'short_buffer' };
  if (v.argsz < PASID_REQUEST_V1_MINSZ) return { ok: false, errno: -EINVAL, reason: 'bad_argsz' };
  if ((v.flags & ~VFIO_PASID_REQUEST_MASK) !== 0) return { ok: false, errno: -EINVAL, reason: 'unknown_flags' };
  if ((v.flags & VFIO_IOMMU_PASID_ALLOC) !== 0 && (v.flags & VFIO_IOMMU_PASID_FREE) !== 0) {
    return { ok: false, errno: -EINVAL, reason: 'both_flags' };
  }
  if (v.min === null || v.max === null || v.result === null || v.pasid === null) {
    return { ok: false, errno: -EFAULT, reason: 'short_buffer' };
  }
  if (v.flags === VFIO_IOMMU_PASID_ALLOC) {
    return { ok: true, op: 'alloc', argsz: v.argsz, flags: v.flags, min: v.min, max: v.max, result: v.result };
  }
  if (v.flags === VFIO_IOMMU_PASID_FREE) {
    return { ok: true, op: 'free', argsz: v.argsz, flags: v.flags, pasid: v.pasid };
  }
  return { ok: false, errno: -EINVAL, reason: 'no_flag' };
}
