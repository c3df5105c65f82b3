/**
 * VFIO constants from include/uapi/linux/vfio.h: the ioctl numbering, the
 * IOMMU backend types a container can be set to, and the PASID request
 * flags of the two revisions of the shared-virtual-addressing series.
 * @module
 */

/**
 * The ioctl "type" byte of every VFIO ioctl: the character `';'`.
 * @example VFIO_TYPE === ';'.charCodeAt(0) // true
 */
export const VFIO_TYPE = 0x3b;

/**
 * First ioctl number of VFIO; each ioctl is `_IO(VFIO_TYPE, VFIO_BASE + n)`.
 * @example VFIO_BASE // 100
 */
export const VFIO_BASE = 100;

/**
 * `VFIO_GET_API_VERSION` returns this; it has never changed.
 * @example VFIO_API_VERSION // 0
 */
export const VFIO_API_VERSION = 0;

/**
 * The kernel's `_IO(type, nr)` (include/uapi/asm-generic/ioctl.h): an ioctl
 * with no direction and size 0, i.e. `(type << 8) | nr`. VFIO encodes every
 * ioctl this way and carries its struct size in `argsz` instead. `type` may
 * be a one-character string, as the C source writes it. Throws RangeError if
 * either part is not a byte.
 * @example _IO(';', 100 + 12) // 0x3B70
 */
export function _IO(type: number | string, nr: number): number {
  const t = typeof type === 'string' && type.length === 1 ? type.charCodeAt(0) : type;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xff) {
    throw new RangeError(`_IO type must be a byte or one character, got ${String(type)}`);
  }
  if (!Number.isInteger(nr) || nr < 0 || nr > 0xff) {
    throw new RangeError(`_IO nr must be a byte, got ${String(nr)}`);
  }
  return (t << 8) | nr;
}

/** `VFIO_GET_API_VERSION` = `_IO(';', 100)`. @example VFIO_GET_API_VERSION // 0x3B64 */
export const VFIO_GET_API_VERSION = _IO(VFIO_TYPE, VFIO_BASE + 0);
/** `VFIO_CHECK_EXTENSION` = `_IO(';', 101)`. @example VFIO_CHECK_EXTENSION // 0x3B65 */
export const VFIO_CHECK_EXTENSION = _IO(VFIO_TYPE, VFIO_BASE + 1);
/**
 * `VFIO_SET_IOMMU` = `_IO(';', 102)`: needs at least one group in the
 * container and no IOMMU set yet, else -EINVAL.
 * @example VFIO_SET_IOMMU // 0x3B66
 */
export const VFIO_SET_IOMMU = _IO(VFIO_TYPE, VFIO_BASE + 2);
/** `VFIO_GROUP_GET_STATUS` = `_IO(';', 103)`. @example VFIO_GROUP_GET_STATUS // 0x3B67 */
export const VFIO_GROUP_GET_STATUS = _IO(VFIO_TYPE, VFIO_BASE + 3);
/** `VFIO_GROUP_SET_CONTAINER` = `_IO(';', 104)`. @example VFIO_GROUP_SET_CONTAINER // 0x3B68 */
export const VFIO_GROUP_SET_CONTAINER = _IO(VFIO_TYPE, VFIO_BASE + 4);
/** `VFIO_GROUP_UNSET_CONTAINER` = `_IO(';', 105)`. @example VFIO_GROUP_UNSET_CONTAINER // 0x3B69 */
export const VFIO_GROUP_UNSET_CONTAINER = _IO(VFIO_TYPE, VFIO_BASE + 5);
/** `VFIO_GROUP_GET_DEVICE_FD` = `_IO(';', 106)`. @example VFIO_GROUP_GET_DEVICE_FD // 0x3B6A */
export const VFIO_GROUP_GET_DEVICE_FD = _IO(VFIO_TYPE, VFIO_BASE + 6);
/**
 * `VFIO_IOMMU_GET_INFO` = `_IO(';', 112)`; layout in `iommu_info.ts`.
 * @example VFIO_IOMMU_GET_INFO // 0x3B70
 */
export const VFIO_IOMMU_GET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 12);
/** `VFIO_IOMMU_MAP_DMA` = `_IO(';', 113)`. @example VFIO_IOMMU_MAP_DMA // 0x3B71 */
export const VFIO_IOMMU_MAP_DMA = _IO(VFIO_TYPE, VFIO_BASE + 13);
/** `VFIO_IOMMU_UNMAP_DMA` = `_IO(';', 114)`. @example VFIO_IOMMU_UNMAP_DMA // 0x3B72 */
export const VFIO_IOMMU_UNMAP_DMA = _IO(VFIO_TYPE, VFIO_BASE + 14);

/**
 * `VFIO_IOMMU_PASID_REQUEST` of the v1 series (March 2020) =
 * `_IO(';', 100 + 22)`; layout in `pasid_request_v1.ts`.
 * @example VFIO_IOMMU_PASID_REQUEST // 0x3B7A
 */
export const VFIO_IOMMU_PASID_REQUEST = _IO(VFIO_TYPE, VFIO_BASE + 22);

/**
 * `VFIO_IOMMU_PASID_REQUEST` of the v7 series (September 2020) =
 * `_IO(';', 100 + 18)`; the kernel name is the same, the number and layout
 * differ (`pasid_request_v7.ts`).
 * @example VFIO_IOMMU_PASID_REQUEST_V7 // 0x3B76
 */
export const VFIO_IOMMU_PASID_REQUEST_V7 = _IO(VFIO_TYPE, VFIO_BASE + 18);

/** v1 request flag: allocate one PASID in `[min, max]`. @example VFIO_IOMMU_PASID_ALLOC // 1 */
export const VFIO_IOMMU_PASID_ALLOC = 1 << 0;
/** v1 request flag: free the PASID in `pasid`. @example VFIO_IOMMU_PASID_FREE // 2 */
export const VFIO_IOMMU_PASID_FREE = 1 << 1;
/** v7 request flag: allocate one PASID in `[min, max]`. @example VFIO_IOMMU_FLAG_ALLOC_PASID // 1 */
export const VFIO_IOMMU_FLAG_ALLOC_PASID = 1 << 0;
/** v7 request flag: free this VM's PASIDs in `[min, max]`. @example VFIO_IOMMU_FLAG_FREE_PASID // 2 */
export const VFIO_IOMMU_FLAG_FREE_PASID = 1 << 1;
/**
 * `VFIO_PASID_REQUEST_MASK`: the flag bits either revision accepts; any
 * other bit set is -EINVAL.
 * @example VFIO_PASID_REQUEST_MASK // 3
 */
export const VFIO_PASID_REQUEST_MASK = VFIO_IOMMU_PASID_ALLOC | VFIO_IOMMU_PASID_FREE;

/** Type1 IOMMU backend. @example VFIO_TYPE1_IOMMU // 1 */
export const VFIO_TYPE1_IOMMU = 1;
/** POWER sPAPR TCE backend. @example VFIO_SPAPR_TCE_IOMMU // 2 */
export const VFIO_SPAPR_TCE_IOMMU = 2;
/** Type1 v2 backend (unmap semantics fixed). @example VFIO_TYPE1v2_IOMMU // 3 */
export const VFIO_TYPE1v2_IOMMU = 3;
/** Type1 with nesting (two-stage) translation: the type PASID requests are meant for. @example VFIO_TYPE1_NESTING_IOMMU // 6 */
export const VFIO_TYPE1_NESTING_IOMMU = 6;
/** POWER sPAPR TCE v2 backend. @example VFIO_SPAPR_TCE_v2_IOMMU // 7 */
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
/** No-IOMMU mode: groups without isolation; cannot share a container with real groups. @example VFIO_NOIOMMU_IOMMU // 8 */
export const VFIO_NOIOMMU_IOMMU = 8;

/**
 * IOMMU backend types a container can be set to with `VFIO_SET_IOMMU`, by
 * kernel name.
 * @example VFIO_IOMMU_TYPES.VFIO_TYPE1_NESTING_IOMMU // 6
 */
export const VFIO_IOMMU_TYPES = Object.freeze({
  VFIO_TYPE1_IOMMU,
  VFIO_SPAPR_TCE_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_TYPE1_NESTING_IOMMU,
  VFIO_SPAPR_TCE_v2_IOMMU,
  VFIO_NOIOMMU_IOMMU,
} as const);

/** A key of {@link VFIO_IOMMU_TYPES}. @example const t: VfioIommuTypeName = 'VFIO_TYPE1v2_IOMMU' */
export type VfioIommuTypeName = keyof typeof VFIO_IOMMU_TYPES;

const typeByValue: ReadonlyMap<number, VfioIommuTypeName> = new Map(
  (Object.keys(VFIO_IOMMU_TYPES) as VfioIommuTypeName[]).map((k) => [VFIO_IOMMU_TYPES[k], k] as const),
);
const typeByName: ReadonlyMap<string, number> = new Map(Object.entries(VFIO_IOMMU_TYPES));

/**
 * The kernel name of an IOMMU type number, or undefined.
 * @example vfioIommuTypeName(3) // 'VFIO_TYPE1v2_IOMMU'
 */
export function vfioIommuTypeName(value: number): VfioIommuTypeName | undefined {
  return typeByValue.get(value);
}

/**
 * The number of an IOMMU type by kernel name (exact spelling), or undefined.
 * @example vfioIommuTypeValue('VFIO_NOIOMMU_IOMMU') // 8
 */
export function vfioIommuTypeValue(name: string): number | undefined {
  return typeByName.get(name);
}

/**
 * Default PASID width of the host (and the PCIe maximum): 20 bits.
 * @example 1 << PASID_BITS_DEFAULT // 1048576, the allocator's capacity
 */
export const PASID_BITS_DEFAULT = 20;

/**
 * Largest 20-bit PASID. v1 does not check a request's `max` against it (quirk).
 * @example PASID_MAX // 0xFFFFF
 */
export const PASID_MAX = 0xfffff;
