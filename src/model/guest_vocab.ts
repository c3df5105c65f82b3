import type { Reason } from './reason.js';
import type { RequestEntry } from './types.js';
import { hex } from '../uapi/bytes.js';
import { decodeVcmd, decodeVcrsp, VTD_VCMD_ALLOC_PASID, VTD_VCMD_FREE_PASID } from '../uapi/vtd_vcmd.js';

// The guest's vocabulary: what its config writes and virtual commands came to, named
// once here for the read side (explain, timeline) and the audit alike.

/** A VCRSP value decoded. */
export interface VcrspFacts {
  vcrsp: number;
  hex: string;
  in_progress: boolean;
  status: number;
  /** `success`, `undefined_command`, `no_pasid_available` (after ALLOC), `invalid_pasid` (after FREE). */
  status_name: string;
  /** The PASID an ALLOC handed the guest (status 0 after ALLOC), else null. */
  pasid: number | null;
  result: number;
}

/**
 * The reasons of a config_write none of whose bytes (or, for the first chunk that decided
 * the reason, not all) reached the hardware: vfio-pci dropped it and reported success.
 *
 * @example
 * DROPPED_WRITE_REASONS.has('pasid_enable_dropped'); // true
 */
export const DROPPED_WRITE_REASONS: ReadonlySet<string> = new Set<Reason>(['pasid_enable_dropped', 'pasid_cap_read_only', 'read_only_capability', 'standard_space_not_modelled']);

/**
 * A VCRSP value decoded, naming status 2 after the command that left it.
 *
 * @example
 * vcrspFacts(0x4, 1).status_name; // 'no_pasid_available'
 */
export function vcrspFacts(value: number, cmd: number | null): VcrspFacts | null {
  const r = decodeVcrsp(value);
  if (!r) return null;
  const name = r.status === 0 ? 'success' : r.status === 1 ? 'undefined_command' : r.status === 3 ? 'reserved'
    : cmd === VTD_VCMD_FREE_PASID ? 'invalid_pasid' : cmd === VTD_VCMD_ALLOC_PASID ? 'no_pasid_available' : 'no_pasid_available_or_invalid_pasid';
  return {
    vcrsp: value, hex: hex(value), in_progress: r.ip, status: r.status, status_name: name,
    pasid: r.status === 0 && !r.ip && cmd === VTD_VCMD_ALLOC_PASID ? r.result : null, result: r.result,
  };
}

/**
 * The name of the VCRSP status a guest's VCMD write left, from its recorded outcome:
 * `success`, `no_pasid_available`, `invalid_pasid`, `undefined_command`, or the drop
 * (`dropped_no_pas`, `dropped_in_progress`); `refused` for a vm not running.
 *
 * @example
 * vcmdOutcome({ op: 'vcmd_write', ret: 0, reason: 'no_pasid_available', value: 4 } as RequestEntry); // 'no_pasid_available'
 */
export function vcmdOutcome(e: RequestEntry): string {
  if (e.ret < 0) return 'refused';
  if (e.reason === 'dropped_no_pas' || e.reason === 'dropped_in_progress') return e.reason;
  const cmd = typeof e.req.value === 'number' ? decodeVcmd(e.req.value)?.cmd ?? null : null;
  return typeof e.value === 'number' ? vcrspFacts(e.value, cmd)?.status_name ?? 'unknown' : 'unknown';
}

/**
 * The command a guest's VCMD write carried: `ALLOC`, `FREE` or `undefined`.
 *
 * @example
 * vcmdCommand(0x502); // 'FREE'
 */
export function vcmdCommand(value: unknown): 'ALLOC' | 'FREE' | 'undefined' {
  const d = typeof value === 'number' ? decodeVcmd(value) : null;
  return d?.op === 'alloc' ? 'ALLOC' : d?.op === 'free' ? 'FREE' : 'undefined';
}
