import type { ConfigEntry, HostConfig } from './types.js';

/**
 * The configuration an entry-1 object carries, or null when it is not a configuration
 * entry. A log written before `pasid_cap_exposure` existed replays as `hidden`
 * (mainline vfio-pci), as it was written.
 *
 * @example
 * configOf(JSON.parse(log.row(1)!.entry)); // { profile: 'v1', pasid_bits: 20, ... }
 */
export function configOf(e: unknown): HostConfig | null {
  const c = e as Partial<ConfigEntry> | null;
  if (!c || typeof c !== 'object' || c.type !== 'config' || (c.profile !== 'v1' && c.profile !== 'v7')) return null;
  if (typeof c.pasid_bits !== 'number' || typeof c.capacity !== 'number' || typeof c.pasid_quota !== 'number') return null;
  const exposure = c.pasid_cap_exposure === 'exposed' ? 'exposed' : 'hidden';
  return { profile: c.profile, pasid_bits: c.pasid_bits, capacity: c.capacity, pasid_quota: c.pasid_quota, pasid_cap_exposure: exposure };
}

/**
 * The configuration a log was written with: its entry 1, read through whatever gives
 * rows by seq (the store's `EntryLog`). The one reader of entry 1: the ledger, replay,
 * verify and the audit all ask it. Null for an empty log or an entry 1 that is not a
 * configuration (or not JSON).
 *
 * @example
 * configOfLog(new EntryLog(db)); // { profile: 'v1', pasid_bits: 20, capacity: 1048576, pasid_quota: 1000, pasid_cap_exposure: 'hidden' }
 */
export function configOfLog(log: { row(seq: number): { entry: string } | undefined }): HostConfig | null {
  const row = log.row(1);
  if (!row) return null;
  try {
    return configOf(JSON.parse(row.entry));
  } catch {
    return null;
  }
}
