import type { DeviceConfig } from './pci_access.js';
import { buildConfigImage, virtualiseConfig } from './pci_config.js';
import type { EcapSpec, PasidCapExposure, PasidCapSpec } from './types.js';

/** What a `device_add` carries about a function's config space: an image, or a description. */
export interface DeviceAddFields {
  is_vf?: boolean;
  pasid_cap?: PasidCapSpec;
  ecaps_before?: EcapSpec[];
  ecaps_after?: EcapSpec[];
  /** The whole config space as hex: 256 bytes (conventional PCI) or 4096 (PCI Express). */
  config_hex?: string;
}

/**
 * The config space of a function as the hardware holds it and as vfio-pci virtualises it
 * under the host's exposure policy. Pure: `decide` and `evolve` compute the same value
 * from the same fields, so the log need not carry the derived arrays.
 *
 * @example
 * deviceConfigOf({ pasid_cap: { exec: true, priv: false, width: 20 } }, 'exposed').pasidShown; // true
 */
export function deviceConfigOf(f: DeviceAddFields, exposure: PasidCapExposure): DeviceConfig {
  const phys = f.config_hex !== undefined ? Uint8Array.from(Buffer.from(f.config_hex, 'hex')) : buildConfigImage(f);
  return { ...virtualiseConfig(phys, exposure, f.is_vf === true), phys };
}

/** How the guest finds a function's PASID capability: not there, skipped by vfio-pci, or shown. */
export type PasidView = 'absent' | 'hidden' | 'exposed';

/**
 * The guest's view of a function's PASID capability.
 *
 * @example
 * pasidView(deviceConfigOf({ pasid_cap: { exec: true, priv: false, width: 20 } }, 'hidden')); // 'hidden'
 */
export function pasidView(d: { pasidOffset: number | null; pasidShown: boolean }): PasidView {
  return d.pasidOffset === null ? 'absent' : d.pasidShown ? 'exposed' : 'hidden';
}
