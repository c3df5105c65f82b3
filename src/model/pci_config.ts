import {
  encodePciExtCapHeader, PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_ID, PCI_EXT_CAP_ID_PASID,
  PCI_EXT_CAP_NEXT, PCI_EXT_CAP_PASID_SIZEOF, PCI_PASID_CAP, PCI_PASID_CAP_EXEC, PCI_PASID_CAP_PRIV,
} from '../uapi/pci_pasid_cap.js';
import type { EcapSpec, PasidCapExposure, PasidCapSpec } from './types.js';

/**
 * How vfio-pci virtualises a function's extended configuration space when it opens it
 * (`vfio_ecap_init` in drivers/vfio/pci/vfio_pci_config.c, Linux 5.6, plus the seed
 * patch that gives the PASID capability a length of 8 instead of 0).
 *
 * The result is three arrays over the config space: the bytes the hardware holds
 * (`phys`), the virtualised copy vfio-pci keeps for capability headers (`vconfig`), and
 * which capability owns each byte (`map`, the kernel's `pci_config_map`: an ecap id
 * truncated to a byte, or {@link PCI_CAP_ID_INVALID} for a byte no capability claims).
 *
 * Simplifications, documented in docs/requests-v7.md: the standard space (0x00-0xFF) is
 * not virtualised; a 4096-byte function is taken to have the PCI Express capability (so
 * it has extended capabilities when the dword at 0x100 is not zero).
 */

/** `pci_config_map` value of a byte no capability claims: reads and writes go raw to the device. */
export const PCI_CAP_ID_INVALID = 0xff;

/** `pci_ext_cap_length[]`'s 0xFF: the capability's length is read from the device (`vfio_ext_cap_len`). */
const VARIABLE_LENGTH = 0xff;

/** The `next` field of an extended capability header (bits 31:20, the low two reserved): what `PCI_EXT_CAP_NEXT` reads. */
const EXT_CAP_NEXT_FIELD = 0xffc << 20;
/** Where that field starts in the header. */
const EXT_CAP_NEXT_SHIFT = 20;
/** `PCI_PASID_CAP_WIDTH` (0x1f00): the Max PASID Width field starts at bit 8 of the capability register. */
const PASID_CAP_WIDTH_SHIFT = 8;
/** `PCI_VNDR_HEADER_LEN(x)`: a vendor-specific capability's length, bits 31:20 of its vendor header. */
const PCI_VNDR_HEADER_LEN = (x: number): number => x >>> 20;

/**
 * `pci_ext_cap_length[]` of Linux 5.6: 0 hides the capability, 0xFF means "length read
 * from the device". Ids missing here (and ids above the table) are hidden too. PASID
 * (0x1B) is 0 in mainline; the exposure policy decides it (see {@link ecapLength}).
 */
const EXT_CAP_LENGTH: Readonly<Record<number, number>> = {
  0x01: 0x2c, // ERR: up to PCI_ERR_ROOT_COMMAND
  0x02: VARIABLE_LENGTH, // VC
  0x03: 12, // DSN
  0x04: 16, // PWR
  0x08: VARIABLE_LENGTH, // MFVC
  0x09: VARIABLE_LENGTH, // VC9
  0x0b: VARIABLE_LENGTH, // VNDR
  0x0d: VARIABLE_LENGTH, // ACS
  0x0e: 8, // ARI
  0x0f: 8, // ATS
  0x10: 64, // SRIOV
  0x12: 40, // MCAST (endpoint)
  0x13: 16, // PRI
  0x15: VARIABLE_LENGTH, // REBAR
  0x16: VARIABLE_LENGTH, // DPA
  0x17: VARIABLE_LENGTH, // TPH
  0x18: 8, // LTR
};

/** A function's config space as vfio-pci presents it to the guest. */
export interface VirtConfig {
  /** 256 (conventional PCI) or 4096 (PCI Express). */
  cfgSize: number;
  vconfig: Uint8Array;
  map: Uint8Array;
  /** Where the function's own PASID capability sits in the physical chain, or null. */
  pasidOffset: number | null;
  /** Whether the guest finds the PASID capability in the chain. */
  pasidShown: boolean;
}

const u32 = (b: Uint8Array, at: number): number | null =>
  at >= 0 && at + 4 <= b.length ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0 : null;
const u8 = (b: Uint8Array, at: number): number | null => (at >= 0 && at < b.length ? b[at]! : null);

function setU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/**
 * `vfio_ext_cap_len` for the variable-length capabilities, read from the device's
 * bytes; null when a register it needs lies past the config space (the kernel's read
 * fails and it stops building the map there).
 */
function variableLength(ecap: number, epos: number, phys: Uint8Array): number | null {
  switch (ecap) {
    case 0x0b: { // VNDR: length in the vendor header's bits 31:20
      const d = u32(phys, epos + 4);
      return d === null ? null : PCI_VNDR_HEADER_LEN(d);
    }
    case 0x02: case 0x09: case 0x08: { // VC, VC9, MFVC
      const cap1 = u32(phys, epos + 4);
      const cap2 = u32(phys, epos + 8);
      if (cap1 === null || cap2 === null) return null;
      const evcc = cap1 & 0x7;
      const phases = cap2 & 0x8 ? 128 : cap2 & 0x4 ? 64 : cap2 & 0x2 ? 32 : 0;
      const vcArb = phases * 4;
      let len = 0x10 + (1 + evcc) * 0x0c;
      if (vcArb) len = Math.ceil(len / 16) * 16 + vcArb / 8;
      return len;
    }
    case 0x0d: { // ACS: 8, plus the egress control vector when EC is set
      const cap = u8(phys, epos + 4);
      if (cap === null) return null;
      if (!(cap & 0x20)) return 8;
      const bitsByte = u8(phys, epos + 5);
      if (bitsByte === null) return null;
      const bits = bitsByte ? Math.ceil(bitsByte / 32) * 32 : 256;
      return 8 + bits / 8;
    }
    case 0x15: { // REBAR: 4 + 8 per BAR
      const ctrl = u8(phys, epos + 8);
      return ctrl === null ? null : 4 + ((ctrl & 0xe0) >> 5) * 8;
    }
    case 0x16: { // DPA: 16 + substates + 1
      const cap = u8(phys, epos + 4);
      return cap === null ? null : 16 + (cap & 0x1f) + 1;
    }
    case 0x17: { // TPH: 12, plus the steering table when it lives in the capability
      const cap = u32(phys, epos + 4);
      if (cap === null) return null;
      if ((cap & 0x600) !== 0x200) return 12;
      return 12 + ((cap & 0x07ff0000) >>> 16) * 2 + 2;
    }
    default:
      return 0;
  }
}

/**
 * The length vfio-pci gives an extended capability: 0 hides it. PASID is 8 under the
 * `exposed` policy (the seed patch) and 0 under `hidden` (mainline); a VF has no PASID
 * capability of its own (the PF's governs it), so a VF's stays hidden whatever the policy.
 * Null when the length cannot be read (past the config space).
 *
 * @example
 * ecapLength(0x1b, 0x100, phys, 'exposed', false); // 8
 * ecapLength(0x0f, 0x100, phys, 'hidden', false);  // 8 (ATS is always shown)
 * ecapLength(0x11, 0x100, phys, 'hidden', false);  // 0 (MR-IOV is always hidden)
 */
export function ecapLength(ecap: number, epos: number, phys: Uint8Array, exposure: PasidCapExposure, isVf: boolean): number | null {
  if (ecap === PCI_EXT_CAP_ID_PASID) return exposure === 'exposed' && !isVf ? PCI_EXT_CAP_PASID_SIZEOF : 0;
  const len = EXT_CAP_LENGTH[ecap] ?? 0;
  return len === VARIABLE_LENGTH ? variableLength(ecap, epos, phys) : len;
}

/**
 * `vfio_ecap_init`: walk the physical chain from 0x100 (at most one step per dword, so a
 * looping chain ends) and build the map and the virtual headers. A hidden capability
 * that is not first is skipped by rewriting the previous header's next pointer; a hidden
 * first one (at 0x100) stays as a 4-byte anchor whose header keeps only `next` (id and
 * version read as 0). With no capability left shown, the dword at 0x100 reads 0.
 *
 * @example
 * const v = virtualiseConfig(buildConfigImage({ pasid_cap: { exec: false, priv: false, width: 20 } }), 'hidden', false);
 * v.pasidShown;  // false
 * v.pasidOffset; // 0x100
 */
export function virtualiseConfig(phys: Uint8Array, exposure: PasidCapExposure, isVf: boolean): VirtConfig {
  const cfgSize = phys.length;
  const vconfig = Uint8Array.from(phys);
  const map = new Uint8Array(cfgSize).fill(PCI_CAP_ID_INVALID);
  const out: VirtConfig = { cfgSize, vconfig, map, pasidOffset: null, pasidShown: false };
  if (cfgSize <= PCI_CFG_SPACE_SIZE || u32(phys, PCI_CFG_SPACE_SIZE) === 0) return out;
  let epos = PCI_CFG_SPACE_SIZE;
  let prev: number | null = null;
  let loops = (cfgSize - PCI_CFG_SPACE_SIZE) / 4;
  let ecaps = 0;
  while (loops-- > 0 && epos >= PCI_CFG_SPACE_SIZE) {
    const header = u32(phys, epos);
    if (header === null) break;
    const ecap = PCI_EXT_CAP_ID(header);
    let len = ecapLength(ecap, epos, phys, exposure, isVf);
    if (len === null) break;
    if (ecap === PCI_EXT_CAP_ID_PASID && out.pasidOffset === null) {
      out.pasidOffset = epos;
      out.pasidShown = len > 0;
    }
    let hidden = false;
    if (len === 0) {
      if (prev !== null) {
        epos = PCI_EXT_CAP_NEXT(header);
        const p = u32(vconfig, prev)!;
        setU32(vconfig, prev, ((p & ~EXT_CAP_NEXT_FIELD) | (epos << EXT_CAP_NEXT_SHIFT)) >>> 0);
        continue;
      }
      len = 4;
      hidden = true;
    }
    map.fill(ecap & 0xff, epos, Math.min(epos + len, cfgSize));
    if (hidden) setU32(vconfig, epos, (u32(vconfig, epos)! & EXT_CAP_NEXT_FIELD) >>> 0);
    else ecaps++;
    prev = epos;
    epos = PCI_EXT_CAP_NEXT(header);
  }
  if (ecaps === 0) setU32(vconfig, PCI_CFG_SPACE_SIZE, 0);
  return out;
}

/**
 * A 4096-byte config space built from a `device_add` description: the capabilities of
 * `ecaps_before`, then PASID (at `pasid_cap.offset`, default 0x100), then `ecaps_after`,
 * chained in that order, each header's `next` naming the following one. Bodies are zero
 * except the PASID capability register (Execute, Privileged, max width); its control
 * register starts clear, as at reset. The standard space is zero.
 *
 * @example
 * const img = buildConfigImage({ pasid_cap: { exec: true, priv: false, width: 20 } });
 * img[0x100]; // 0x1b
 */
export function buildConfigImage(spec: { pasid_cap?: PasidCapSpec; ecaps_before?: EcapSpec[]; ecaps_after?: EcapSpec[] }): Uint8Array {
  const img = new Uint8Array(PCI_CFG_SPACE_EXP_SIZE);
  const chain: Array<{ id: number; version: number; offset: number }> = (spec.ecaps_before ?? []).map((e) => ({ id: e.id, version: e.version ?? 1, offset: e.offset }));
  if (spec.pasid_cap) chain.push({ id: PCI_EXT_CAP_ID_PASID, version: 1, offset: pasidOffsetOf(spec) });
  for (const e of spec.ecaps_after ?? []) chain.push({ id: e.id, version: e.version ?? 1, offset: e.offset });
  chain.forEach((c, i) => {
    const header = encodePciExtCapHeader({ id: c.id, version: c.version, next: chain[i + 1]?.offset ?? 0 });
    if (header === null) throw new Error(`bug: capability ${c.id} at ${c.offset} passed validation but does not encode`);
    setU32(img, c.offset, header);
  });
  const p = spec.pasid_cap;
  if (p) {
    const at = pasidOffsetOf(spec) + PCI_PASID_CAP;
    const cap = (p.width << PASID_CAP_WIDTH_SHIFT) | (p.exec ? PCI_PASID_CAP_EXEC : 0) | (p.priv ? PCI_PASID_CAP_PRIV : 0);
    img[at] = cap & 0xff;
    img[at + 1] = (cap >>> 8) & 0xff;
  }
  return img;
}

/** Where a described PASID capability sits: its `offset`, or 0x100 when none is chained before it. */
export function pasidOffsetOf(spec: { pasid_cap?: PasidCapSpec }): number {
  return spec.pasid_cap?.offset ?? PCI_CFG_SPACE_SIZE;
}
