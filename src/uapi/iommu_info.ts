/**
 * `VFIO_IOMMU_GET_INFO` of profile v1, with the nesting capability:
 *
 * ```c
 * struct vfio_iommu_type1_info {
 *         __u32   argsz;          // @0
 *         __u32   flags;          // @4  PGSIZES 1, CAPS 2
 *         __u64   iova_pgsizes;   // @8
 *         __u32   cap_offset;     // @16 offset of the first cap from the struct start
 *         __u32   pad;            // @20 (implicit; the kernel never writes it)
 * };                              // sizeof 24
 *
 * struct vfio_info_cap_header {
 *         __u16   id;             // @0
 *         __u16   version;        // @2
 *         __u32   next;           // @4 offset from the info struct's start; 0 ends the chain
 * };
 *
 * struct vfio_iommu_type1_info_cap_nesting {   // id 2, version 1
 *         struct vfio_info_cap_header header;  // @0
 *         __u32   nesting_capabilities;        // @8  VFIO_IOMMU_PASID_REQS = 1
 *         __u32   flags;                       // @12 padding to 8-byte alignment
 * };                                           // 16 bytes
 * ```
 *
 * The kernel's reply: `minsz` = offsetofend(iova_pgsizes) = 16, and
 * `argsz < 16` is -EINVAL. With `argsz >= 20` it also writes `cap_offset`
 * (older callers pass 16). Caps go right after the struct, at 24, only if
 * `argsz >= 24 + caps size`; otherwise it raises `argsz` to the size needed
 * (leaving `cap_offset` 0) so the caller can retry, and still sets
 * `VFIO_IOMMU_INFO_CAPS`. An `argsz` already large enough is left as given.
 * The IOVA-range capability (id 1) the kernel of the time also reports is
 * not modelled here.
 * @module
 */
import { EFAULT, EINVAL } from './errno.js';
import { assertU32, readU16LE, readU32LE, viewOf } from './bytes.js';

/** Info flag: `iova_pgsizes` is valid. @example VFIO_IOMMU_INFO_PGSIZES // 1 */
export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
/** Info flag: a capability chain exists (it may not have fit). @example VFIO_IOMMU_INFO_CAPS // 2 */
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;
/** `sizeof(struct vfio_iommu_type1_info)`: where the first cap is placed. @example VFIO_IOMMU_TYPE1_INFO_SIZEOF // 24 */
export const VFIO_IOMMU_TYPE1_INFO_SIZEOF = 24;
/** `offsetofend(struct vfio_iommu_type1_info, iova_pgsizes)`: smaller argsz is -EINVAL. @example VFIO_IOMMU_TYPE1_INFO_MINSZ // 16 */
export const VFIO_IOMMU_TYPE1_INFO_MINSZ = 16;
/** `offsetofend(struct vfio_iommu_type1_info, cap_offset)`: from this argsz on, cap_offset is written. @example VFIO_IOMMU_TYPE1_INFO_CAPSZ // 20 */
export const VFIO_IOMMU_TYPE1_INFO_CAPSZ = 20;
/** `sizeof(struct vfio_info_cap_header)`. @example VFIO_INFO_CAP_HEADER_SIZEOF // 8 */
export const VFIO_INFO_CAP_HEADER_SIZEOF = 8;
/** Capability id of the IOVA ranges cap (recognised by id only; never encoded here). @example VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE // 1 */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
/** Capability id of the nesting cap (v1 series). @example VFIO_IOMMU_TYPE1_INFO_CAP_NESTING // 2 */
export const VFIO_IOMMU_TYPE1_INFO_CAP_NESTING = 2;
/** Version of the nesting cap. @example VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_VERSION // 1 */
export const VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_VERSION = 1;
/** Size of the nesting cap: header 8 + nesting_capabilities 4 + flags 4. @example VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_SIZEOF // 16 */
export const VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_SIZEOF = 16;
/** `nesting_capabilities` bit: the container accepts PASID ALLOC/FREE requests. @example VFIO_IOMMU_PASID_REQS // 1 */
export const VFIO_IOMMU_PASID_REQS = 1 << 0;

const U64_MAX = (1n << 64n) - 1n;

/**
 * What the kernel knows when it answers GET_INFO, plus the caller's argsz.
 * @example const q: IommuInfoQuery = { argsz: 40, iova_pgsizes: 0x40201000, nesting: true, pasid_reqs: true }
 */
export interface IommuInfoQuery {
  /** The `argsz` the caller passed in. */
  argsz: number;
  /** Bitmap of supported IOVA page sizes (a `__u64`). */
  iova_pgsizes: number | bigint;
  /** Report the nesting cap (v1 3/8 reports it for every type1 container). */
  nesting: boolean;
  /** The nesting cap sets VFIO_IOMMU_PASID_REQS (a NESTING container); ignored without `nesting`. */
  pasid_reqs: boolean;
}

/**
 * The bytes the kernel writes back for GET_INFO, from offset 0: 16 bytes if
 * `argsz < 20`; 20 if the caps do not fit or there are none; 40 (struct 24 +
 * nesting cap 16) when they fit. Bytes 20..23 (padding) are not written by
 * the kernel and are 0 here. Throws RangeError if `argsz` or a field is out
 * of range, and for `argsz < 16`: the kernel answers that with -EINVAL and
 * writes nothing, which the caller must decide before asking for bytes.
 * @example encodeIommuInfo({ argsz: 16, iova_pgsizes: 0x1000, nesting: true, pasid_reqs: true })
 * // 28000000 03000000 0010000000000000: argsz raised to 40, 16 bytes copied
 */
export function encodeIommuInfo(query: IommuInfoQuery): Uint8Array {
  assertU32('argsz', query.argsz);
  if (query.argsz < VFIO_IOMMU_TYPE1_INFO_MINSZ) {
    throw new RangeError(`argsz ${query.argsz} < ${VFIO_IOMMU_TYPE1_INFO_MINSZ}: the kernel returns -EINVAL`);
  }
  const pg = query.iova_pgsizes;
  const pgsizes = typeof pg === 'bigint' ? pg : Number.isSafeInteger(pg) ? BigInt(pg) : -1n;
  if (pgsizes < 0n || pgsizes > U64_MAX) {
    throw new RangeError(`iova_pgsizes must be a __u64, got ${String(pg)}`);
  }
  const capsSize = query.nesting ? VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_SIZEOF : 0;
  const full = VFIO_IOMMU_TYPE1_INFO_SIZEOF + capsSize;
  let argsz = query.argsz;
  let flags = VFIO_IOMMU_INFO_PGSIZES;
  let capOffset = 0;
  let copied = query.argsz >= VFIO_IOMMU_TYPE1_INFO_CAPSZ ? VFIO_IOMMU_TYPE1_INFO_CAPSZ : VFIO_IOMMU_TYPE1_INFO_MINSZ;
  if (capsSize > 0) {
    flags |= VFIO_IOMMU_INFO_CAPS;
    if (query.argsz < full) {
      argsz = full;
    } else {
      capOffset = VFIO_IOMMU_TYPE1_INFO_SIZEOF;
      copied = full;
    }
  }
  const buf = new Uint8Array(copied);
  const dv = viewOf(buf);
  dv.setUint32(0, argsz, true);
  dv.setUint32(4, flags, true);
  dv.setBigUint64(8, pgsizes, true);
  if (copied >= VFIO_IOMMU_TYPE1_INFO_CAPSZ) dv.setUint32(16, capOffset, true);
  if (capOffset !== 0) {
    const at = capOffset;
    dv.setUint16(at, VFIO_IOMMU_TYPE1_INFO_CAP_NESTING, true);
    dv.setUint16(at + 2, VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_VERSION, true);
    dv.setUint32(at + 4, 0, true);
    dv.setUint32(at + 8, query.pasid_reqs ? VFIO_IOMMU_PASID_REQS : 0, true);
    dv.setUint32(at + 12, 0, true);
  }
  return buf;
}

/**
 * One capability found in the chain. `nesting_capabilities` is present for
 * the nesting cap (id 2) only.
 * @example const c: IommuInfoCap = { id: 2, version: 1, offset: 24, next: 0, nesting_capabilities: 1 }
 */
export interface IommuInfoCap {
  id: number;
  version: number;
  /** Offset of this cap's header from the start of the info struct. */
  offset: number;
  next: number;
  nesting_capabilities?: number;
}

/**
 * Why a GET_INFO reply could not be decoded.
 * @example const r: IommuInfoReason = 'cap_loop'
 */
export type IommuInfoReason = 'short_buffer' | 'bad_cap_offset' | 'cap_out_of_range' | 'cap_loop';

/**
 * A decoded GET_INFO reply, or why it is malformed. `cap_offset` is null
 * when the buffer is shorter than 20 bytes (the kernel did not write it).
 * @example const d: IommuInfoDecoded = { ok: false, errno: -14, reason: 'short_buffer' }
 */
export type IommuInfoDecoded =
  | { ok: true; argsz: number; flags: number; iova_pgsizes: bigint; cap_offset: number | null; caps: IommuInfoCap[] }
  | { ok: false; errno: number; reason: IommuInfoReason };

/**
 * Decode a GET_INFO reply as user space reads it. Caps are walked only when
 * `VFIO_IOMMU_INFO_CAPS` is set and `cap_offset` is non-zero, as QEMU does.
 * Failures: buffer < 16 -> -EFAULT `short_buffer`; a cap offset inside the
 * 24-byte struct -> -EINVAL `bad_cap_offset`; a cap (header, or the nesting
 * cap's `nesting_capabilities`) past the buffer -> -EINVAL
 * `cap_out_of_range`; a `next` revisiting a cap -> -EINVAL `cap_loop`.
 * Never throws, never reads past `buf`.
 * @example decodeIommuInfo(encodeIommuInfo({ argsz: 40, iova_pgsizes: 4096, nesting: true, pasid_reqs: true }))
 * // { ok: true, argsz: 40, flags: 3, iova_pgsizes: 4096n, cap_offset: 24,
 * //   caps: [{ id: 2, version: 1, offset: 24, next: 0, nesting_capabilities: 1 }] }
 */
export function decodeIommuInfo(buf: Uint8Array): IommuInfoDecoded {
  if (buf.length < VFIO_IOMMU_TYPE1_INFO_MINSZ) return { ok: false, errno: -EFAULT, reason: 'short_buffer' };
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  const flags = dv.getUint32(4, true);
  const iova_pgsizes = dv.getBigUint64(8, true);
  const cap_offset = readU32LE(buf, 16);
  const caps: IommuInfoCap[] = [];
  if ((flags & VFIO_IOMMU_INFO_CAPS) !== 0 && cap_offset !== null) {
    const seen = new Set<number>();
    for (let offset = cap_offset; offset !== 0; ) {
      if (offset < VFIO_IOMMU_TYPE1_INFO_SIZEOF) return { ok: false, errno: -EINVAL, reason: 'bad_cap_offset' };
      if (seen.has(offset)) return { ok: false, errno: -EINVAL, reason: 'cap_loop' };
      seen.add(offset);
      const id = readU16LE(buf, offset);
      const version = readU16LE(buf, offset + 2);
      const next = readU32LE(buf, offset + 4);
      if (id === null || version === null || next === null) {
        return { ok: false, errno: -EINVAL, reason: 'cap_out_of_range' };
      }
      const cap: IommuInfoCap = { id, version, offset, next };
      if (id === VFIO_IOMMU_TYPE1_INFO_CAP_NESTING) {
        const nc = readU32LE(buf, offset + VFIO_INFO_CAP_HEADER_SIZEOF);
        if (nc === null) return { ok: false, errno: -EINVAL, reason: 'cap_out_of_range' };
        cap.nesting_capabilities = nc;
      }
      caps.push(cap);
      offset = next;
    }
  }
  return { ok: true, argsz, flags, iova_pgsizes, cap_offset, caps };
}
