/**
 * The PCIe PASID extended capability, as include/uapi/linux/pci_regs.h
 * describes it, and the extended capability header that chains it:
 *
 * ```
 * +0  u32  header: id 15:0 (0x1B), version 19:16, next 31:20 (dword aligned)
 * +4  u16  PCI_PASID_CAP:  Exec 0x2, Priv 0x4, max PASID width 12:8
 * +6  u16  PCI_PASID_CTRL: Enable 0x1, Exec 0x2, Priv 0x4
 * ```
 *
 * Extended capabilities live in `0x100 .. 0xFFF` of the 4 KiB config space.
 * Mainline vfio-pci hides this capability (length 0): it rewrites the
 * previous header's next past it, or, when it is the first one at 0x100,
 * keeps a header with only `next` (`header & (0xffc << 20)`). The v1 seed
 * patch exposes it with length 8, passing reads through and dropping writes.
 * Everything here is little-endian, as config space is.
 * @module
 */
import { readU16LE, readU32LE } from './bytes.js';

/** Size of conventional PCI config space. @example PCI_CFG_SPACE_SIZE // 256 */
export const PCI_CFG_SPACE_SIZE = 256;
/** Size of PCIe config space; extended caps start at {@link PCI_CFG_SPACE_SIZE}. @example PCI_CFG_SPACE_EXP_SIZE // 4096 */
export const PCI_CFG_SPACE_EXP_SIZE = 4096;
/** Extended capability id of PASID. @example PCI_EXT_CAP_ID_PASID // 0x1B */
export const PCI_EXT_CAP_ID_PASID = 0x1b;
/** Bytes of the PASID capability, header included. @example PCI_EXT_CAP_PASID_SIZEOF // 8 */
export const PCI_EXT_CAP_PASID_SIZEOF = 8;
/** Version of the PASID capability the PCIe spec defines (QEMU's `PCI_PASID_VER`). @example PCI_PASID_VER // 1 */
export const PCI_PASID_VER = 1;
/** Offset of the 16-bit PASID capability register. @example PCI_PASID_CAP // 4 */
export const PCI_PASID_CAP = 0x04;
/** Capability bit: Execute permission supported. @example PCI_PASID_CAP_EXEC // 0x02 */
export const PCI_PASID_CAP_EXEC = 0x0002;
/** Capability bit: Privileged mode supported. @example PCI_PASID_CAP_PRIV // 0x04 */
export const PCI_PASID_CAP_PRIV = 0x0004;
/** Capability field: max PASID width, bits 12:8 (PASIDs are `0 .. (1 << width) - 1`). @example PCI_PASID_CAP_WIDTH // 0x1F00 */
export const PCI_PASID_CAP_WIDTH = 0x1f00;
/** Offset of the 16-bit PASID control register. @example PCI_PASID_CTRL // 6 */
export const PCI_PASID_CTRL = 0x06;
/** Control bit: PASID enable. @example PCI_PASID_CTRL_ENABLE // 0x01 */
export const PCI_PASID_CTRL_ENABLE = 0x0001;
/** Control bit: Execute permission enable. @example PCI_PASID_CTRL_EXEC // 0x02 */
export const PCI_PASID_CTRL_EXEC = 0x0002;
/** Control bit: Privileged mode enable. @example PCI_PASID_CTRL_PRIV // 0x04 */
export const PCI_PASID_CTRL_PRIV = 0x0004;

/**
 * `PCI_EXT_CAP_ID(header)`: capability id, bits 15:0.
 * @example PCI_EXT_CAP_ID(0x2001001b) // 0x1B
 */
export function PCI_EXT_CAP_ID(header: number): number {
  return header & 0x0000ffff;
}

/**
 * `PCI_EXT_CAP_VER(header)`: capability version, bits 19:16.
 * @example PCI_EXT_CAP_VER(0x2001001b) // 1
 */
export function PCI_EXT_CAP_VER(header: number): number {
  return (header >>> 16) & 0xf;
}

/**
 * `PCI_EXT_CAP_NEXT(header)`: offset of the next capability, bits 31:20,
 * with the two low (reserved) bits masked off as the kernel does. 0 ends the list.
 * @example PCI_EXT_CAP_NEXT(0x2001001b) // 0x200
 */
export function PCI_EXT_CAP_NEXT(header: number): number {
  return (header >>> 20) & 0xffc;
}

/**
 * The three fields of an extended capability header.
 * @example const h: PciExtCapHeader = { id: 0x1b, version: 1, next: 0x200 }
 */
export interface PciExtCapHeader {
  id: number;
  version: number;
  next: number;
}

/**
 * Pack a header into its u32, or null if a field does not fit: id
 * `0..0xFFFF`, version `0..0xF`, next `0..0xFFC` and a multiple of 4.
 * Never throws.
 * @example encodePciExtCapHeader({ id: 0x1b, version: 1, next: 0x200 }) // 0x2001001B
 */
export function encodePciExtCapHeader(h: PciExtCapHeader): number | null {
  if (typeof h !== 'object' || h === null) return null;
  const { id, version, next } = h;
  if (!isIntIn(id, 0, 0xffff) || !isIntIn(version, 0, 0xf) || !isIntIn(next, 0, 0xffc) || next % 4 !== 0) {
    return null;
  }
  return ((next << 20) | (version << 16) | id) >>> 0;
}

/**
 * Unpack a header u32, or null if `header` is not an integer in
 * `0..0xFFFFFFFF`. Never throws.
 * @example decodePciExtCapHeader(0x2001001b) // { id: 0x1b, version: 1, next: 0x200 }
 */
export function decodePciExtCapHeader(header: number): PciExtCapHeader | null {
  if (!isIntIn(header, 0, 0xffffffff)) return null;
  return { id: PCI_EXT_CAP_ID(header), version: PCI_EXT_CAP_VER(header), next: PCI_EXT_CAP_NEXT(header) };
}

/**
 * The PASID control register's bits.
 * @example const c: PciPasidCtrl = { enable: true, exec: false, priv: false }
 */
export interface PciPasidCtrl {
  enable: boolean;
  exec: boolean;
  priv: boolean;
}

/**
 * What to put in a PASID capability. `width` is the max PASID width field
 * (5 bits; PCIe reserves values above 20). `next` defaults to 0, `version`
 * to {@link PCI_PASID_VER}, `ctrl` to all clear (as at reset).
 * @example const c: PciPasidCapFields = { exec: false, priv: false, width: 20 }
 */
export interface PciPasidCapFields {
  exec: boolean;
  priv: boolean;
  width: number;
  next?: number;
  version?: number;
  ctrl?: PciPasidCtrl;
}

/**
 * A decoded PASID capability, with the raw 16-bit registers (reserved bits
 * included) beside the named bits.
 * @example decodePciPasidCap(bytes)?.width // 20
 */
export interface PciPasidCap {
  id: number;
  version: number;
  next: number;
  exec: boolean;
  priv: boolean;
  width: number;
  ctrl: PciPasidCtrl;
  cap_reg: number;
  ctrl_reg: number;
}

/**
 * The 8 bytes of a PASID capability, or null if a field does not fit
 * (width `0..31`, next/version as in {@link encodePciExtCapHeader}).
 * Never throws.
 * @example encodePciPasidCap({ exec: true, priv: true, width: 20, next: 0x200 })
 * // 1b000120 0614 0000
 */
export function encodePciPasidCap(fields: PciPasidCapFields): Uint8Array | null {
  if (typeof fields !== 'object' || fields === null) return null;
  const header = encodePciExtCapHeader({
    id: PCI_EXT_CAP_ID_PASID,
    version: fields.version ?? PCI_PASID_VER,
    next: fields.next ?? 0,
  });
  if (header === null || !isIntIn(fields.width, 0, 31)) return null;
  const cap = (fields.width << 8) | (fields.exec ? PCI_PASID_CAP_EXEC : 0) | (fields.priv ? PCI_PASID_CAP_PRIV : 0);
  const c = fields.ctrl;
  const ctrl = typeof c !== 'object' || c === null
    ? 0
    : (c.enable ? PCI_PASID_CTRL_ENABLE : 0) | (c.exec ? PCI_PASID_CTRL_EXEC : 0) | (c.priv ? PCI_PASID_CTRL_PRIV : 0);
  const buf = new Uint8Array(PCI_EXT_CAP_PASID_SIZEOF);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, header, true);
  dv.setUint16(PCI_PASID_CAP, cap, true);
  dv.setUint16(PCI_PASID_CTRL, ctrl, true);
  return buf;
}

/**
 * Decode the PASID capability at `offset` of `bytes` (a config space image or
 * just the 8 bytes). Null if `offset` is not a non-negative integer, the 8
 * bytes do not fit, or the header's id is not 0x1B. Never throws, never
 * reads past `bytes`.
 * @example decodePciPasidCap(encodePciPasidCap({ exec: false, priv: true, width: 16 })!)?.priv // true
 */
export function decodePciPasidCap(bytes: Uint8Array, offset = 0): PciPasidCap | null {
  if (!(bytes instanceof Uint8Array) || !Number.isSafeInteger(offset) || offset < 0 || offset + PCI_EXT_CAP_PASID_SIZEOF > bytes.length) return null;
  const header = readU32LE(bytes, offset);
  const cap = readU16LE(bytes, offset + PCI_PASID_CAP);
  const ctrl = readU16LE(bytes, offset + PCI_PASID_CTRL);
  if (header === null || cap === null || ctrl === null) return null;
  if (PCI_EXT_CAP_ID(header) !== PCI_EXT_CAP_ID_PASID) return null;
  return {
    id: PCI_EXT_CAP_ID(header),
    version: PCI_EXT_CAP_VER(header),
    next: PCI_EXT_CAP_NEXT(header),
    exec: (cap & PCI_PASID_CAP_EXEC) !== 0,
    priv: (cap & PCI_PASID_CAP_PRIV) !== 0,
    width: (cap & PCI_PASID_CAP_WIDTH) >> 8,
    ctrl: {
      enable: (ctrl & PCI_PASID_CTRL_ENABLE) !== 0,
      exec: (ctrl & PCI_PASID_CTRL_EXEC) !== 0,
      priv: (ctrl & PCI_PASID_CTRL_PRIV) !== 0,
    },
    cap_reg: cap,
    ctrl_reg: ctrl,
  };
}

function isIntIn(n: unknown, lo: number, hi: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi;
}

/**
 * The PASID control register (16-bit, little-endian) of the capability at `capOffset`
 * in a function's config-space bytes.
 * @example readPasidCtrl(config, 0x148) & PCI_PASID_CTRL_ENABLE // PASID enabled?
 */
export function readPasidCtrl(config: Uint8Array, capOffset: number): number {
  return config[capOffset + PCI_PASID_CTRL]! | (config[capOffset + PCI_PASID_CTRL + 1]! << 8);
}
