import { quoteKey } from './quote.js';
import { PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_PASID_SIZEOF } from '../uapi/pci_pasid_cap.js';

/**
 * The shape checks of a `device_add` request's config-space description (part of
 * `parseRequest`): a bad description is a caller's bug, refused before the kernel sees
 * anything. The kernel-level outcomes (a bdf already present) are `decide`'s.
 */

/**
 * A PCI address as the kernel prints it: `%04x:%02x:%02x.%d`, device 0..0x1f, function 0..7, lower case.
 *
 * @example
 * BDF_RE.test('0000:3b:00.0'); // true
 */
export const BDF_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/;

/** Config-space sizes a function can have: conventional PCI or PCI Express. */
const CFG_SIZES = [PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_EXP_SIZE];

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

function unknownKey(o: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(o).find((k) => !allowed.includes(k));
}

/** Checks an extended capability offset: dword aligned, inside 0x100..0xFFF with room for `len` bytes. */
function offsetProblem(v: unknown, len: number): string | null {
  if (!isInt(v, PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_EXP_SIZE - len)) {
    return `must be an integer in 0x100..0x${(PCI_CFG_SPACE_EXP_SIZE - len).toString(16)} (extended config space)`;
  }
  return v % 4 === 0 ? null : 'must be a multiple of 4 (capabilities are dword aligned)';
}

function pasidCapProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return '"pasid_cap" must be an object {exec, priv, width, offset?}';
  const o = v as Record<string, unknown>;
  const extra = unknownKey(o, ['exec', 'priv', 'width', 'offset']);
  if (extra !== undefined) return `"pasid_cap": unknown field "${quoteKey(extra)}"`;
  if (typeof o.exec !== 'boolean') return '"pasid_cap.exec" must be true or false';
  if (typeof o.priv !== 'boolean') return '"pasid_cap.priv" must be true or false';
  if (!isInt(o.width, 0, 31)) return '"pasid_cap.width" must be an integer in 0..31 (a 5-bit field)';
  if (Object.hasOwn(o, 'offset')) {
    const why = offsetProblem(o.offset, PCI_EXT_CAP_PASID_SIZEOF);
    if (why) return `"pasid_cap.offset" ${why}`;
  }
  return null;
}

function ecapsProblem(name: string, v: unknown): string | null {
  if (!Array.isArray(v)) return `"${name}" must be an array of {id, offset, version?}`;
  if (v.length > 64) return `"${name}" has more than 64 capabilities`;
  for (let i = 0; i < v.length; i++) {
    const e = v[i] as unknown;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return `"${name}[${i}]" must be an object {id, offset, version?}`;
    const o = e as Record<string, unknown>;
    const extra = unknownKey(o, ['id', 'offset', 'version']);
    if (extra !== undefined) return `"${name}[${i}]": unknown field "${quoteKey(extra)}"`;
    if (!isInt(o.id, 0, 0xffff)) return `"${name}[${i}].id" must be an integer in 0..0xFFFF`;
    if (o.id === PCI_EXT_CAP_ID_PASID) return `"${name}[${i}].id" is the PASID capability (0x1b): describe it with "pasid_cap"`;
    const why = offsetProblem(o.offset, 4);
    if (why) return `"${name}[${i}].offset" ${why}`;
    if (Object.hasOwn(o, 'version') && !isInt(o.version, 0, 15)) return `"${name}[${i}].version" must be an integer in 0..15 (a 4-bit field)`;
  }
  return null;
}

/**
 * What is wrong with a `device_add` request's config-space fields, or null. A described
 * chain must start at 0x100 (where the guest starts looking), its capabilities must not
 * overlap (a header is 4 bytes, PASID 8), and PASID needs an explicit `offset` when
 * capabilities are chained before it. `config_hex` (a whole config space: 256 or 4096
 * bytes) excludes the description fields.
 *
 * @example
 * deviceSpecProblem({ bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20 } }); // null
 * deviceSpecProblem({ bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 40 } }); // '"pasid_cap.width" must be ...'
 */
export function deviceSpecProblem(o: Record<string, unknown>): string | null {
  if (Object.hasOwn(o, 'config_hex')) {
    if (['pasid_cap', 'ecaps_before', 'ecaps_after'].some((k) => Object.hasOwn(o, k))) return 'give "config_hex" or the capability fields, not both';
    const hex = o.config_hex;
    if (typeof hex !== 'string' || !CFG_SIZES.includes(hex.length / 2)) return '"config_hex" must be a whole config space: 256 or 4096 bytes of hex';
    return null;
  }
  if (Object.hasOwn(o, 'pasid_cap')) {
    const why = pasidCapProblem(o.pasid_cap);
    if (why) return why;
  }
  for (const k of ['ecaps_before', 'ecaps_after']) {
    if (Object.hasOwn(o, k)) {
      const why = ecapsProblem(k, o[k]);
      if (why) return why;
    }
  }
  const before = (o.ecaps_before ?? []) as Array<{ offset: number }>;
  const after = (o.ecaps_after ?? []) as Array<{ offset: number }>;
  const pasid = o.pasid_cap as { offset?: number } | undefined;
  if (pasid && before.length > 0 && pasid.offset === undefined) return '"pasid_cap.offset" is needed when capabilities are chained before it';
  if (after.length > 0 && !pasid) return '"ecaps_after" needs "pasid_cap" (they follow it)';
  const spans: Array<[number, number]> = before.map((e) => [e.offset, 4]);
  if (pasid) spans.push([pasid.offset ?? PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_PASID_SIZEOF]);
  for (const e of after) spans.push([e.offset, 4]);
  if (spans.length > 0 && spans[0]![0] !== PCI_CFG_SPACE_SIZE) return 'the first extended capability must be at 0x100 (256), where the chain starts';
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [at, len] = sorted[i - 1]!;
    if (sorted[i]![0] < at + len) return `capabilities at 0x${at.toString(16)} and 0x${sorted[i]![0].toString(16)} overlap`;
  }
  return null;
}
