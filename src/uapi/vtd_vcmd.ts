/**
 * QEMU intel-iommu's virtual command interface (hw/i386/intel_iommu_internal.h
 * of the vSVA series), through which a guest with `x-scalable-mode=modern`
 * asks the host for PASIDs:
 *
 * ```
 * DMAR_VCCAP_REG 0xE00  bit 0 VTD_VCCAP_PAS: PASID allocation supported
 * DMAR_VCMD_REG  0xE10  command 7:0 (1 ALLOC, 2 FREE); FREE operand 27:8
 * DMAR_VCRSP_REG 0xE20  bit 0 in progress; status 2:1; result PASID 63:8
 * ```
 *
 * The registers are 64-bit. Everything QEMU puts in them fits in 40 bits
 * (a 32-bit result shifted by 8), so this file speaks `number`, exact up to
 * 2^53; decoders also take a `bigint` for a raw 64-bit register value and
 * keep only the bits they need. QEMU drops a VCMD write while VCCAP lacks
 * PAS or while IP is set; that is the model's to apply.
 * @module
 */

/** Offset of the Virtual Command Capability register. @example DMAR_VCCAP_REG // 0xE00 */
export const DMAR_VCCAP_REG = 0xe00;
/** Offset of the Virtual Command register. @example DMAR_VCMD_REG // 0xE10 */
export const DMAR_VCMD_REG = 0xe10;
/** Offset of the Virtual Command Response register. @example DMAR_VCRSP_REG // 0xE20 */
export const DMAR_VCRSP_REG = 0xe20;
/** VCCAP bit 0: the vIOMMU accepts ALLOC/FREE virtual commands. @example VTD_VCCAP_PAS // 1 */
export const VTD_VCCAP_PAS = 1;
/** VCMD bits holding the command. @example VTD_VCMD_CMD_MASK // 0xFF */
export const VTD_VCMD_CMD_MASK = 0xff;
/** Command: allocate a PASID. @example VTD_VCMD_ALLOC_PASID // 1 */
export const VTD_VCMD_ALLOC_PASID = 0x01;
/** Command: free the PASID in bits 27:8. @example VTD_VCMD_FREE_PASID // 2 */
export const VTD_VCMD_FREE_PASID = 0x02;
/** VCRSP bit 0: a command is in progress; writes to VCMD are dropped meanwhile. @example VTD_VCRSP_IP // 1 */
export const VTD_VCRSP_IP = 1;
/** Status code 0: the command succeeded (QEMU writes 0 and names no constant). @example VTD_VCMD_SUCCESS // 0 */
export const VTD_VCMD_SUCCESS = 0;
/** Status code 1: the command is not ALLOC or FREE. @example VTD_VCMD_UNDEFINED_CMD // 1 */
export const VTD_VCMD_UNDEFINED_CMD = 1;
/** Status code 2 after ALLOC: no PASID available (every container refused). @example VTD_VCMD_NO_AVAILABLE_PASID // 2 */
export const VTD_VCMD_NO_AVAILABLE_PASID = 2;
/** Status code 2 after FREE: invalid PASID (every container refused). @example VTD_VCMD_FREE_INVALID_PASID // 2 */
export const VTD_VCMD_FREE_INVALID_PASID = 2;

const PASID_MASK = 0xfffffn;
const U64_MAX = (1n << 64n) - 1n;

/** QEMU's `VTD_HPASID_MIN`: the lowest PASID its vIOMMU asks the host for on a guest's ALLOC command. */
export const VTD_HPASID_MIN = 1;
/** QEMU's `VTD_HPASID_MAX` (0xFFFFF, the largest 20-bit PASID): the top of that range. */
export const VTD_HPASID_MAX = 0xfffff;

/**
 * QEMU's `VTD_VCMD_PASID_VALUE(val)`: the FREE operand, `(val >> 8) & 0xFFFFF`.
 * Returns null for a value that is not an integer in `0 .. 2^64 - 1`
 * (a `number` must also be a safe integer).
 * @example VTD_VCMD_PASID_VALUE(0x502) // 5
 */
export function VTD_VCMD_PASID_VALUE(val: number | bigint): number | null {
  const v = toU64(val);
  return v === null ? null : Number((v >> 8n) & PASID_MASK);
}

/**
 * QEMU's `VTD_VCRSP_SC(val)`: a status code placed in bits 2:1
 * (`(val & 0x3) << 1`).
 * @example VTD_VCRSP_SC(VTD_VCMD_NO_AVAILABLE_PASID) // 0x4
 */
export function VTD_VCRSP_SC(val: number): number {
  return (val & 0x3) << 1;
}

/**
 * QEMU's `VTD_VCRSP_RSLT(val)`: a result placed from bit 8 (`val << 8`),
 * computed without 32-bit truncation; exact for `val < 2^45`.
 * @example VTD_VCRSP_RSLT(5) // 0x500
 */
export function VTD_VCRSP_RSLT(val: number): number {
  return val * 256;
}

/**
 * A decoded VCMD write. `op` is null for any command other than ALLOC and
 * FREE (QEMU answers those with status {@link VTD_VCMD_UNDEFINED_CMD}).
 * `pasid` is the FREE operand; for other commands it is whatever the bits hold.
 * @example const c: VcmdDecoded = { cmd: 2, op: 'free', pasid: 5 }
 */
export interface VcmdDecoded {
  cmd: number;
  op: 'alloc' | 'free' | null;
  pasid: number;
}

/**
 * Decode a value the guest wrote to VCMD. Null for a value that is not an
 * integer in `0 .. 2^64 - 1` (a `number` must be a safe integer). Never throws.
 * @example decodeVcmd(0x502) // { cmd: 2, op: 'free', pasid: 5 }
 */
export function decodeVcmd(value: number | bigint): VcmdDecoded | null {
  const v = toU64(value);
  if (v === null) return null;
  const cmd = Number(v & BigInt(VTD_VCMD_CMD_MASK));
  const op = cmd === VTD_VCMD_ALLOC_PASID ? 'alloc' : cmd === VTD_VCMD_FREE_PASID ? 'free' : null;
  return { cmd, op, pasid: Number((v >> 8n) & PASID_MASK) };
}

/**
 * The fields of a VCRSP value.
 * @example const r: Vcrsp = { ip: false, status: 0, result: 5 }
 */
export interface Vcrsp {
  /** In progress (bit 0). */
  ip: boolean;
  /** Status code, bits 2:1: 0 success, 1 undefined command, 2 no PASID / invalid PASID. */
  status: number;
  /** Result (the allocated PASID), from bit 8. */
  result: number;
}

/**
 * Build a VCRSP value. Throws RangeError unless `status` is `0..3` and
 * `result` an integer in `0..0xFFFFFFFF` (the value then fits in 40 bits).
 * @example encodeVcrsp({ ip: false, status: 0, result: 5 }) // 0x500
 * @example encodeVcrsp({ ip: false, status: VTD_VCMD_NO_AVAILABLE_PASID, result: 0 }) // 0x4
 */
export function encodeVcrsp(r: Vcrsp): number {
  if (!Number.isInteger(r.status) || r.status < 0 || r.status > 3) {
    throw new RangeError(`status must be 0..3, got ${String(r.status)}`);
  }
  if (!Number.isInteger(r.result) || r.result < 0 || r.result > 0xffffffff) {
    throw new RangeError(`result must be an integer in 0..0xFFFFFFFF, got ${String(r.result)}`);
  }
  return VTD_VCRSP_RSLT(r.result) + VTD_VCRSP_SC(r.status) + (r.ip ? VTD_VCRSP_IP : 0);
}

/**
 * Decode a VCRSP value. Null for a value that is not an integer in
 * `0 .. 2^64 - 1`, or whose result (bits 63:8) is beyond 2^53 - 1 and so
 * not exact as a number; QEMU never produces either. Never throws.
 * @example decodeVcrsp(0x500) // { ip: false, status: 0, result: 5 }
 */
export function decodeVcrsp(value: number | bigint): Vcrsp | null {
  const v = toU64(value);
  if (v === null) return null;
  const result = v >> 8n;
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { ip: (v & 1n) !== 0n, status: Number((v >> 1n) & 3n), result: Number(result) };
}

function toU64(value: number | bigint): bigint | null {
  if (typeof value === 'bigint') return value >= 0n && value <= U64_MAX ? value : null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return null;
}
