import { PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_ID, PCI_EXT_CAP_NEXT, PCI_EXT_CAP_VER, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE } from '../uapi/pci_pasid_cap.js';
import { PCI_CAP_ID_INVALID, type VirtConfig } from './pci_config.js';

/**
 * A guest's config-space access through the vfio-pci device fd (`vfio_pci_config_rw`):
 * split into naturally aligned chunks of 4, 2 or 1 bytes, each handled by the region
 * its first byte belongs to (`vfio_config_do_rw`):
 *
 * - a byte no capability claims (`unassigned_perms`): raw read, raw write to the
 *   hardware ("some devices hide registers between the gaps");
 * - an extended capability (`ecap_perms`, `vfio_direct_config_read`, no write function):
 *   reads come from the hardware except the capability's header dword, which comes from
 *   the virtualised copy (the next pointer vfio-pci rewrote); writes are dropped and
 *   report success;
 * - the standard space (below 0x100): reads return the hardware's bytes; writes are not
 *   modelled (dropped, recorded).
 *
 * Bounds were checked by the caller: `offset + size <= cfgSize`.
 */

/** What a device looks like to an access: its hardware bytes and vfio-pci's view of them. */
export interface DeviceConfig extends VirtConfig {
  phys: Uint8Array;
}

/** Why a written chunk did not reach the hardware, or a fact worth recording about one that did. */
export type WriteNote = 'pasid_enable_dropped' | 'hidden_pasid_cap_raw_write' | 'pasid_cap_read_only' | 'read_only_capability' | 'standard_space_not_modelled';

/** The notes in the order the recorded reason prefers them (most telling first). */
const NOTE_ORDER: readonly WriteNote[] = ['pasid_enable_dropped', 'hidden_pasid_cap_raw_write', 'pasid_cap_read_only', 'read_only_capability', 'standard_space_not_modelled'];

/**
 * The chunks `vfio_pci_config_rw` splits an access into: `[offset, size]` pairs.
 *
 * @example
 * chunks(0x102, 4); // [[0x102, 2], [0x104, 2]]
 */
export function chunks(offset: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let pos = offset, left = size; left > 0; ) {
    const n = left >= 4 && pos % 4 === 0 ? 4 : left >= 2 && pos % 2 === 0 ? 2 : 1;
    out.push([pos, n]);
    pos += n;
    left -= n;
  }
  return out;
}

/**
 * `vfio_find_cap_start`: the first byte of the run of bytes the same capability claims
 * in vfio-pci's per-byte capability map.
 *
 * @example
 * capStart(d.map, 0x14e); // 0x148: the PASID capability's header
 */
export function capStart(map: Uint8Array, pos: number): number {
  const cap = map[pos];
  while (pos - 1 >= PCI_CFG_SPACE_SIZE && map[pos - 1] === cap) pos--;
  return pos;
}

type Region = 'standard' | 'unassigned' | 'ecap';

function regionOf(d: DeviceConfig, pos: number): Region {
  if (pos < PCI_CFG_SPACE_SIZE) return 'standard';
  return d.map[pos] === PCI_CAP_ID_INVALID ? 'unassigned' : 'ecap';
}

/**
 * The value the guest reads: `size` bytes at `offset`, little-endian.
 *
 * @example
 * readConfig(dev, 0x100, 4); // the PASID header as the guest sees it
 */
export function readConfig(d: DeviceConfig, offset: number, size: number): number {
  const out = new Uint8Array(size);
  for (const [pos, n] of chunks(offset, size)) {
    const fromVirt = regionOf(d, pos) === 'ecap' && pos - capStart(d.map, pos) < 4;
    out.set((fromVirt ? d.vconfig : d.phys).subarray(pos, pos + n), pos - offset);
  }
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + out[i]!;
  return v;
}

/** What a guest write did: the chunks that reached the hardware, and what to record. */
export interface WriteEffect {
  /** Raw writes the hardware took, in order: offset and the bytes written, as hex. */
  raw: Array<{ offset: number; hex: string }>;
  /** The most telling note about the write, if any. */
  note?: WriteNote;
}

/**
 * What a guest write of `value` (`size` bytes at `offset`) does. Pure: the caller records
 * the raw chunks as a transition, which `evolve` applies to the hardware bytes.
 *
 * @example
 * writeConfig(dev, pasidOffset + 6, 2, 1); // exposed: { raw: [], note: 'pasid_enable_dropped' }
 */
export function writeConfig(d: DeviceConfig, offset: number, size: number, value: number): WriteEffect {
  const bytes = new Uint8Array(size);
  for (let i = 0, v = value; i < size; i++, v = Math.floor(v / 256)) bytes[i] = v % 256;
  const notes = new Set<WriteNote>();
  const raw: WriteEffect['raw'] = [];
  const inPasid = (pos: number, n: number) => d.pasidOffset !== null && pos < d.pasidOffset + 8 && pos + n > d.pasidOffset;
  const setsEnable = (pos: number, n: number) => {
    const at = (d.pasidOffset ?? -16) + PCI_PASID_CTRL;
    return at >= pos && at < pos + n && (bytes[at - offset]! & PCI_PASID_CTRL_ENABLE) !== 0;
  };
  for (const [pos, n] of chunks(offset, size)) {
    const region = regionOf(d, pos);
    const chunk = bytes.subarray(pos - offset, pos - offset + n);
    if (region === 'standard') {
      notes.add('standard_space_not_modelled');
    } else if (region === 'unassigned') {
      raw.push({ offset: pos, hex: Buffer.from(chunk).toString('hex') });
      if (inPasid(pos, n)) notes.add('hidden_pasid_cap_raw_write');
    } else if (inPasid(pos, n) && d.pasidShown) {
      notes.add(setsEnable(pos, n) ? 'pasid_enable_dropped' : 'pasid_cap_read_only');
    } else {
      notes.add('read_only_capability');
    }
  }
  const note = NOTE_ORDER.find((x) => notes.has(x));
  return note === undefined ? { raw } : { raw, note };
}

/**
 * The extended capabilities the guest finds walking the chain from 0x100 through its
 * own reads (at most one step per dword): what `lspci -vvv` in the guest would list.
 *
 * @example
 * guestEcaps(dev); // [{ id: 1, version: 1, offset: 0x100 }, { id: 0x1b, version: 1, offset: 0x148 }]
 */
export function guestEcaps(d: DeviceConfig): Array<{ id: number; version: number; offset: number }> {
  const out: Array<{ id: number; version: number; offset: number }> = [];
  if (d.cfgSize <= PCI_CFG_SPACE_SIZE) return out;
  let pos = PCI_CFG_SPACE_SIZE;
  for (let loops = (d.cfgSize - PCI_CFG_SPACE_SIZE) / 4; loops > 0 && pos >= PCI_CFG_SPACE_SIZE; loops--) {
    const h = readConfig(d, pos, 4);
    if (h === 0) break;
    if (PCI_EXT_CAP_ID(h) !== 0 || PCI_EXT_CAP_VER(h) !== 0) out.push({ id: PCI_EXT_CAP_ID(h), version: PCI_EXT_CAP_VER(h), offset: pos });
    pos = PCI_EXT_CAP_NEXT(h);
  }
  return out;
}
