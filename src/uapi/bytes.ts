/**
 * Little-endian field access shared by the layout files.
 *
 * Every struct this layer describes is a C struct as the kernel copies it to
 * and from user memory on x86-64: little-endian, naturally aligned. The
 * readers here are bounded by the view they are given, so a decoder handed a
 * `subarray` never sees bytes past its end.
 *
 * Internal to `src/uapi/`; not re-exported from the index.
 * @module
 */

/**
 * True when `n` is an integer in `0..0xFFFFFFFF` (a C `__u32`).
 * @example isU32(0xFFFFF) // true
 */
export function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * A DataView over exactly the bytes of `buf` (respecting `byteOffset`).
 * @example viewOf(new Uint8Array(4)).getUint32(0, true) // 0
 */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * The `__u32` at `offset`, or null when the buffer ends before `offset + 4`.
 * @example readU32LE(Uint8Array.of(1, 0, 0, 0), 0) // 1
 */
export function readU32LE(buf: Uint8Array, offset: number): number | null {
  if (offset < 0 || offset + 4 > buf.length) return null;
  // Byte arithmetic instead of a DataView: this runs on every PASID request.
  return (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 24)) >>> 0;
}

/**
 * The `__u16` at `offset`, or null when the buffer ends before `offset + 2`.
 * @example readU16LE(Uint8Array.of(0x1b, 0), 0) // 0x1b
 */
export function readU16LE(buf: Uint8Array, offset: number): number | null {
  if (offset < 0 || offset + 2 > buf.length) return null;
  return buf[offset]! | (buf[offset + 1]! << 8);
}

/**
 * Throws RangeError unless `value` is a `__u32`; names the field in the message.
 * Encoders use it: a bad value there is a caller's bug, not a kernel outcome.
 * @example assertU32('argsz', 20)
 */
export function assertU32(field: string, value: unknown): asserts value is number {
  if (!isU32(value)) {
    throw new RangeError(`${field} must be an integer in 0..0xFFFFFFFF, got ${String(value)}`);
  }
}

/**
 * Stores a `__u32` little-endian at `offset` (the caller checked the bounds and the value).
 * @example const b = new Uint8Array(4); writeU32LE(b, 0, 20); // b = 14 00 00 00
 */
export function writeU32LE(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
}

/**
 * A register, offset or flag value as the kernel prints it: lower-case hex with `0x`.
 * @example hex(0x3b7a) // '0x3b7a'
 */
export function hex(v: number): string {
  return `0x${v.toString(16)}`;
}
