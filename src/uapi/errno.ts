/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h and errno.h, as
 * on x86-64), plus the kernel-internal ENOTSUPP from include/linux/errno.h.
 *
 * The kernel returns `-errno` from an ioctl; this project records the
 * negative value as the caller's `ret`. The names and values here are the
 * only place the numbers are spelled out.
 * @module
 */

/** Operation not permitted. @example EPERM // 1 */
export const EPERM = 1;
/** No such file or directory (FREE of a PASID not allocated). @example ENOENT // 2 */
export const ENOENT = 2;
/** No such process. @example ESRCH // 3 */
export const ESRCH = 3;
/** Interrupted system call. @example EINTR // 4 */
export const EINTR = 4;
/** I/O error. @example EIO // 5 */
export const EIO = 5;
/** No such device or address. @example ENXIO // 6 */
export const ENXIO = 6;
/** Argument list too long. @example E2BIG // 7 */
export const E2BIG = 7;
/** Bad file number. @example EBADF // 9 */
export const EBADF = 9;
/** Try again (same value as EWOULDBLOCK). @example EAGAIN // 11 */
export const EAGAIN = 11;
/** Out of memory. @example ENOMEM // 12 */
export const ENOMEM = 12;
/** Permission denied (FREE of another vfio_mm's PASID). @example EACCES // 13 */
export const EACCES = 13;
/** Bad address: a failed copy_from_user/copy_to_user, and every v1 ALLOC failure. @example EFAULT // 14 */
export const EFAULT = 14;
/** Device or resource busy. @example EBUSY // 16 */
export const EBUSY = 16;
/** File exists. @example EEXIST // 17 */
export const EEXIST = 17;
/** No such device. @example ENODEV // 19 */
export const ENODEV = 19;
/** Invalid argument. @example EINVAL // 22 */
export const EINVAL = 22;
/** File table overflow. @example ENFILE // 23 */
export const ENFILE = 23;
/** Too many open files. @example EMFILE // 24 */
export const EMFILE = 24;
/** Not a typewriter: an ioctl number the driver does not know. @example ENOTTY // 25 */
export const ENOTTY = 25;
/** No space left on device: ioasid capacity or v7 quota exhausted. @example ENOSPC // 28 */
export const ENOSPC = 28;
/** Math result not representable. @example ERANGE // 34 */
export const ERANGE = 34;
/** Function not implemented. @example ENOSYS // 38 */
export const ENOSYS = 38;
/** Value too large for defined data type. @example EOVERFLOW // 75 */
export const EOVERFLOW = 75;
/** Operation not supported (v7: PASID request on a container without vfio_mm). @example EOPNOTSUPP // 95 */
export const EOPNOTSUPP = 95;
/** Connection timed out. @example ETIMEDOUT // 110 */
export const ETIMEDOUT = 110;
/**
 * Kernel-internal "operation not supported" (include/linux/errno.h), not in
 * the uapi headers, yet IOMMU drivers let it reach user space.
 * @example ENOTSUPP // 524
 */
export const ENOTSUPP = 524;

/**
 * Every errno this layer knows, canonical name to value. Values are unique,
 * so the record is a bijection; aliases live in {@link ERRNO_ALIASES}.
 * @example ERRNO.EFAULT // 14
 */
export const ERRNO = Object.freeze({
  EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, EBADF, EAGAIN, ENOMEM, EACCES,
  EFAULT, EBUSY, EEXIST, ENODEV, EINVAL, ENFILE, EMFILE, ENOTTY, ENOSPC, ERANGE,
  ENOSYS, EOVERFLOW, EOPNOTSUPP, ETIMEDOUT, ENOTSUPP,
} as const);

/** A canonical errno name known to {@link ERRNO}. @example const n: ErrnoName = 'EINVAL' */
export type ErrnoName = keyof typeof ERRNO;

/**
 * Alternative spellings the C library defines for the same values; accepted
 * by {@link errnoValue}, never produced by {@link errnoName}.
 * @example ERRNO_ALIASES.EWOULDBLOCK // 11
 */
export const ERRNO_ALIASES = Object.freeze({
  EWOULDBLOCK: EAGAIN,
  ENOTSUP: EOPNOTSUPP,
} as const);

const byValue: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.keys(ERRNO) as ErrnoName[]).map((k) => [ERRNO[k], k] as const),
);

const byName: ReadonlyMap<string, number> = new Map<string, number>([
  ...Object.entries(ERRNO),
  ...Object.entries(ERRNO_ALIASES),
]);

/**
 * The name of an errno, given as the value (`14`) or as the kernel's return
 * (`-14`). Unknown values give `E?<n>` with `n` the absolute value.
 * @example errnoName(-14) // 'EFAULT'
 * @example errnoName(999) // 'E?999'
 */
export function errnoName(value: number): string {
  const v = Number.isInteger(value) ? Math.abs(value) : value;
  return byValue.get(v) ?? `E?${String(v)}`;
}

/**
 * The positive value of an errno name (canonical or alias; exact spelling),
 * or undefined.
 * @example errnoValue('EOPNOTSUPP') // 95
 * @example errnoValue('ENOTSUP') // 95
 */
export function errnoValue(name: string): number | undefined {
  return byName.get(name);
}
