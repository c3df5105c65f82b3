/**
 * `struct vfio_iommu_type1_pasid_request` of the v7 series (profile v7):
 *
 * ```c
 * struct vfio_iommu_type1_pasid_request {
 *         __u32   argsz;                         // @0
 *         __u32   flags;                         // @4  ALLOC 1, FREE 2
 *         struct {
 *                 __u32 min;                     // @8
 *                 __u32 max;                     // @12
 *         } range;
 * };                                             // sizeof = minsz = 16
 * ```
 *
 * ioctl `_IO(';', 100 + 18)` = 0x3B76. ALLOC returns the PASID as the
 * ioctl's return value (no result field); FREE frees the caller's PASIDs in
 * `[min, max]`. The kernel copies all 16 bytes at once.
 * @module
 */
import { EFAULT, EINVAL } from './errno.js';
import { VFIO_IOMMU_FLAG_ALLOC_PASID, VFIO_IOMMU_FLAG_FREE_PASID, VFIO_PASID_REQUEST_MASK } from './vfio.js';
import { assertU32, readU32LE, writeU32LE } from './bytes.js';

/** `sizeof(struct vfio_iommu_type1_pasid_request)` in v7. @example PASID_REQUEST_V7_SIZEOF // 16 */
export const PASID_REQUEST_V7_SIZEOF = 16;
/** `offsetofend(struct vfio_iommu_type1_pasid_request, range)`: equal to sizeof in v7. @example PASID_REQUEST_V7_MINSZ // 16 */
export const PASID_REQUEST_V7_MINSZ = 16;
/**
 * v7 refuses `min` or `max` above `1 << 31` (compared as unsigned: 0x80000000
 * itself passes) with -EINVAL.
 * @example PASID_REQUEST_V7_RANGE_LIMIT // 0x80000000
 */
export const PASID_REQUEST_V7_RANGE_LIMIT = 0x80000000;

/**
 * Fields to build a v7 request from.
 * @example const f: PasidRequestV7Fields = { flags: VFIO_IOMMU_FLAG_FREE_PASID, min: 1, max: 0xFFFFF }
 */
export interface PasidRequestV7Fields {
  /** Defaults to {@link PASID_REQUEST_V7_SIZEOF}. */
  argsz?: number;
  flags: number;
  min?: number;
  max?: number;
}

/**
 * Build the 16 bytes of a v7 request, little-endian; absent fields are 0.
 * Throws RangeError for a value that is not a `__u32`; any flags value and
 * any range is accepted.
 * @example encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_ALLOC_PASID, min: 1, max: 0xFFFFF })
 * // 10000000 01000000 01000000 ffff0f00
 */
export function encodePasidRequestV7(fields: PasidRequestV7Fields): Uint8Array {
  const argsz = fields.argsz ?? PASID_REQUEST_V7_SIZEOF;
  assertU32('argsz', argsz);
  assertU32('flags', fields.flags);
  const min = fields.min ?? 0;
  const max = fields.max ?? 0;
  assertU32('min', min);
  assertU32('max', max);
  const buf = new Uint8Array(PASID_REQUEST_V7_SIZEOF);
  writeU32LE(buf, 0, argsz);
  writeU32LE(buf, 4, fields.flags);
  writeU32LE(buf, 8, min);
  writeU32LE(buf, 12, max);
  return buf;
}

/**
 * What a buffer holds at each v7 offset; null where the buffer ends first.
 * @example readPasidRequestV7(new Uint8Array(12)).max // null
 */
export interface PasidRequestV7View {
  length: number;
  argsz: number | null;
  flags: number | null;
  min: number | null;
  max: number | null;
}

/**
 * Read a v7 request's fields as far as the buffer reaches. Never throws,
 * never reads past `buf`.
 * @example readPasidRequestV7(encodePasidRequestV7({ flags: 2, min: 3, max: 4 })).min // 3
 */
export function readPasidRequestV7(buf: Uint8Array): PasidRequestV7View {
  return {
    length: buf.length,
    argsz: readU32LE(buf, 0),
    flags: readU32LE(buf, 4),
    min: readU32LE(buf, 8),
    max: readU32LE(buf, 12),
  };
}

/**
 * Reasons {@link decodePasidRequestV7} can record.
 * @example const r: PasidRequestV7Reason = 'bad_range'
 */
export type PasidRequestV7Reason = 'short_buffer' | 'bad_argsz' | 'unknown_flags' | 'bad_range' | 'no_flag' | 'both_flags';

/**
 * Outcome of the buffer-level checks of a v7 request. A failure carries
 * `afterVfioMm`: true when the kernel decides it only after its no-vfio_mm
 * check (see {@link decodePasidRequestV7}).
 * @example const d: PasidRequestV7Decoded = { ok: false, errno: -22, reason: 'no_flag', afterVfioMm: true }
 */
export type PasidRequestV7Decoded =
  | { ok: true; op: 'alloc' | 'free'; argsz: number; flags: number; min: number; max: number }
  | { ok: false; errno: number; reason: PasidRequestV7Reason; afterVfioMm: boolean };

/**
 * Apply v7's buffer checks, in the kernel's order (docs/kernel-behaviour.md section 5):
 *
 * 1. buffer < 16: -EFAULT `short_buffer` (the single copy_from_user)
 * 2. argsz < 16: -EINVAL `bad_argsz`
 * 3. flag bits other than ALLOC|FREE: -EINVAL `unknown_flags`
 * 4. min > max: -EINVAL `bad_range`
 * 5. min or max > 1 << 31: -EINVAL `bad_range`
 * 6. (the model's) the container has no vfio_mm: -EOPNOTSUPP, decided
 *    under the IOMMU lock after the request has been copied and validated
 * 7. neither flag, or both: -EINVAL `no_flag` / `both_flags` (the switch's
 *    default, reached only with a vfio_mm)
 *
 * Check 6 sits between 5 and 7, so failures of 7 come back with
 * `afterVfioMm: true`. The model decides as:
 * `if (!d.ok && !d.afterVfioMm) return d; if (!vfio_mm) return -EOPNOTSUPP; if (!d.ok) return d;`
 * Never throws, never reads past `buf`.
 * @example decodePasidRequestV7(encodePasidRequestV7({ flags: 1, min: 9, max: 3 }))
 * // { ok: false, errno: -22, reason: 'bad_range', afterVfioMm: false }
 */
export function decodePasidRequestV7(buf: Uint8Array): PasidRequestV7Decoded {
  const v = readPasidRequestV7(buf);
  if (v.argsz === null || v.flags === null || v.min === null || v.max === null) {
    return { ok: false, errno: -EFAULT, reason: 'short_buffer', afterVfioMm: false };
  }
  if (v.argsz < PASID_REQUEST_V7_MINSZ) return { ok: false, errno: -EINVAL, reason: 'bad_argsz', afterVfioMm: false };
  if ((v.flags & ~VFIO_PASID_REQUEST_MASK) !== 0) {
    return { ok: false, errno: -EINVAL, reason: 'unknown_flags', afterVfioMm: false };
  }
  if (v.min > v.max || v.min > PASID_REQUEST_V7_RANGE_LIMIT || v.max > PASID_REQUEST_V7_RANGE_LIMIT) {
    return { ok: false, errno: -EINVAL, reason: 'bad_range', afterVfioMm: false };
  }
  const rest = { argsz: v.argsz, flags: v.flags, min: v.min, max: v.max };
  if (v.flags === VFIO_IOMMU_FLAG_ALLOC_PASID) return { ok: true, op: 'alloc', ...rest };
  if (v.flags === VFIO_IOMMU_FLAG_FREE_PASID) return { ok: true, op: 'free', ...rest };
  const reason = v.flags === 0 ? 'no_flag' : 'both_flags';
  return { ok: false, errno: -EINVAL, reason, afterVfioMm: true };
}
