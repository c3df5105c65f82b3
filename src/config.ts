import { quote } from './model/quote.js';
import type { HostConfig, PasidCapExposure, Profile } from './model/types.js';

/** What a caller may set when a log is created; everything else is the kernel's default. */
export interface ConfigOptions {
  profile?: Profile;
  pasid_bits?: number;
  capacity?: number;
  pasid_quota?: number;
  pasid_cap_exposure?: PasidCapExposure;
}

/** The kernel's defaults: 20-bit PASIDs, capacity `1 << 20`, `pasid_quota` 1000, capability hidden. */
export const DEFAULT_PASID_BITS = 20;
export const DEFAULT_PASID_QUOTA = 1000;

/**
 * The configuration a new log records, from the caller's options and the defaults.
 *
 * @returns the config, or a one-line message saying which option is out of range.
 */
export function resolveConfig(o: ConfigOptions): HostConfig | string {
  const profile = o.profile ?? 'v1';
  if (profile !== 'v1' && profile !== 'v7') return `profile must be v1 or v7, not ${quote(profile)}`;
  const bits = o.pasid_bits ?? DEFAULT_PASID_BITS;
  if (!Number.isInteger(bits) || bits < 1 || bits > 20) return `pasid_bits must be an integer in 1..20, not ${quote(bits)}`;
  const capacity = o.capacity ?? 2 ** bits;
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > 2 ** 32) return `capacity must be an integer in 0..${2 ** 32}, not ${quote(capacity)}`;
  const quota = o.pasid_quota ?? DEFAULT_PASID_QUOTA;
  if (!Number.isInteger(quota) || quota < 0 || quota > 0x7fffffff) return `pasid_quota must be a non-negative integer, not ${quote(quota)}`;
  const exposure = o.pasid_cap_exposure ?? 'hidden';
  if (exposure !== 'hidden' && exposure !== 'exposed') return `pasid_cap_exposure must be hidden or exposed, not ${quote(exposure)}`;
  return { profile, pasid_bits: bits, capacity, pasid_quota: quota, pasid_cap_exposure: exposure };
}

/** The configuration options, as a record over `keyof ConfigOptions`: one added to the interface must be added here. */
const CONFIG_OPTION_KEYS: Record<keyof ConfigOptions, true> = { profile: true, pasid_bits: true, capacity: true, pasid_quota: true, pasid_cap_exposure: true };

/** The names of the configuration options a new log takes. */
export const CONFIG_KEYS = Object.keys(CONFIG_OPTION_KEYS) as (keyof ConfigOptions)[];

/**
 * The options that differ from a log's recorded configuration: a log replays under
 * the configuration it was written with, so a differing option is refused.
 */
export function configConflicts(recorded: HostConfig, o: ConfigOptions): string[] {
  const out: string[] = [];
  for (const k of CONFIG_KEYS) {
    if (o[k] !== undefined && o[k] !== recorded[k]) out.push(`${k} is ${String(recorded[k])} in the log, not ${String(o[k])}`);
  }
  return out;
}
