import { pasidView } from '../model/device_image.js';
import { capStart, chunks } from '../model/pci_access.js';
import { PCI_CAP_ID_INVALID } from '../model/pci_config.js';
import { hasIommuDomain, type HostState } from '../model/state.js';
import { PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_PASID_SIZEOF, PCI_PASID_CAP, PCI_PASID_CTRL, readPasidCtrl } from '../uapi/pci_pasid_cap.js';
import { VTD_VCCAP_PAS } from '../uapi/vtd_vcmd.js';

/**
 * The facts about the host's objects that decide a request, as plain data: what
 * `explain` shows. Each reads a state and changes nothing; an unknown object is null.
 */

/**
 * A vm: its mm token, state and containers.
 *
 * @example
 * vmFacts(s, 'vm1'); // { vm: 'vm1', mm: '0x1000', state: 'running', containers: ['c1'] }
 */
export function vmFacts(s: HostState, vm: string | undefined) {
  const v = vm === undefined ? undefined : s.vms.get(vm);
  return v ? { vm: v.vm, mm: v.mm, state: v.state, containers: [...v.containers] } : null;
}

/**
 * A container: opener, state, IOMMU, groups, whether it has an IOMMU-backed domain, its vfio_mm.
 *
 * @example
 * containerFacts(s, 'c1')?.iommu_domain; // true
 */
export function containerFacts(s: HostState, container: string | undefined) {
  const c = container === undefined ? undefined : s.containers.get(container);
  if (!c) return null;
  return {
    container: c.container, vm: c.vm, state: c.state, iommu_type: c.iommu_type, groups: [...c.groups],
    iommu_domain: hasIommuDomain(s, c), vfio_mm: c.vfio_mm,
  };
}

/**
 * A group: its container and kind.
 *
 * @example
 * groupFacts(s, 'g1'); // { group: 'g1', container: 'c1', iommu_backed: true, noiommu: false }
 */
export function groupFacts(s: HostState, group: string | undefined) {
  const g = group === undefined ? undefined : s.groups.get(group);
  return g ? { group: g.group, container: g.container, iommu_backed: g.iommu_backed, noiommu: g.noiommu } : null;
}

/**
 * A live vfio_mm: its account. `quota` is what it recorded, `set_quota` the limit its
 * ioasid set enforces (they differ after a failed lazy adjust), `held` how many it holds.
 *
 * @example
 * vfioMmFacts(s, 1); // { vfio_mm: 1, mm: '0x1000', gen: 1, refs: 2, quota: 4, set_quota: 4, held: 4 }
 */
export function vfioMmFacts(s: HostState, id: number | null | undefined) {
  const m = id === null || id === undefined ? undefined : s.vfioMms.get(id);
  if (!m) return null;
  return { vfio_mm: m.vfio_mm, mm: m.mm, gen: m.gen, refs: m.refs, quota: m.quota, set_quota: m.set_quota, held: m.pasids.size };
}

/**
 * Who holds a PASID: its vfio_mm and mm token, or null when it is free.
 *
 * @example
 * ownerFacts(s, 5); // { vfio_mm: 2, mm: '0x2000' }
 */
export function ownerFacts(s: HostState, pasid: number) {
  const id = s.owner.get(pasid);
  if (id === undefined) return null;
  return { vfio_mm: id, mm: s.vfioMms.get(id)?.mm ?? null };
}

/**
 * The lowest free id in `[min, max]` (what ALLOC would pick), or null when none is.
 *
 * @example
 * lowestFree(s, 1, 0xfffff); // 5
 */
export function lowestFree(s: HostState, min: number, max: number): number | null {
  if (min >>> 0 !== min || max >>> 0 !== max) return null;
  const id = s.ids.findLowest(min, max);
  return id < 0 ? null : id;
}

/**
 * A vm's vIOMMU virtual command registers (docs/kernel-behaviour.md section 6): VCCAP (bit 0 PAS: the
 * guest may ask for PASIDs), VCRSP as the guest would read it, and whether a command is
 * in progress. Null for an unknown vm.
 *
 * @example
 * viommuFacts(s, 'vm1'); // { vm: 'vm1', vccap: 1, pas: true, vcrsp: 256, state: 'ready' }
 */
export function viommuFacts(s: HostState, vm: string | undefined) {
  const v = vm === undefined ? undefined : s.vms.get(vm);
  return v ? { vm: v.vm, vccap: v.vccap, pas: (v.vccap & VTD_VCCAP_PAS) === VTD_VCCAP_PAS, vcrsp: v.vcrsp, state: v.viommu } : null;
}

/**
 * A PCI function bound to vfio-pci: its group and the container that gives QEMU the
 * device fd, how the guest sees its PASID capability, and the capability's control
 * register as the hardware holds it. Null for an unknown bdf.
 *
 * @example
 * deviceFacts(s, '0000:3b:00.0')?.pasid_view; // 'exposed'
 */
export function deviceFacts(s: HostState, bdf: string | undefined) {
  const d = bdf === undefined ? undefined : s.devices.get(bdf);
  if (!d) return null;
  const g = s.groups.get(d.group);
  const c = g?.container ? s.containers.get(g.container) : undefined;
  const at = d.pasidOffset;
  return {
    bdf: d.bdf, group: d.group, state: d.state, is_vf: d.is_vf, cfg_size: d.cfgSize,
    pasid_view: pasidView(d), pasid_offset: at, exposure: s.config.pasid_cap_exposure,
    pasid_ctrl: at === null ? null : readPasidCtrl(d.phys, at),
    container: c?.container ?? null, container_state: c?.state ?? null, vm: c?.vm ?? null,
    device_fd: c?.state === 'iommu_set',
  };
}

/** An extended capability's header: 4 bytes (id, version, next), which vfio-pci virtualises. */
const EXT_CAP_HEADER_SIZE = 4;

/** Which register of the PASID capability a byte is in. */
export type PasidRegister = 'header' | 'capability' | 'control';

/** How vfio-pci handles one naturally aligned chunk of a config access (`vfio_config_do_rw`). */
export interface ConfigChunk {
  offset: number;
  size: number;
  /** `standard` (below 0x100), `unclaimed` (no capability claims it: raw), `capability` (an extended capability vfio-pci passes). */
  region: 'standard' | 'unclaimed' | 'capability';
  /** The PASID capability register the chunk starts in, when it lies in the function's PASID capability. */
  pasid_register: PasidRegister | null;
  /** What vfio-pci does with it, in words. */
  handling: string;
}

/** Where a config access lands, and what vfio-pci does with each of its chunks. */
export interface ConfigAccessFacts {
  offset: number;
  size: number;
  /** False when `offset + size` is past the function's config space (-EFAULT): no chunk is handled. */
  in_config_space: boolean;
  /**
   * The function's PASID capability at this offset: `exposed` (reads pass through, the
   * header is virtual, writes are dropped), `hidden` (its bytes are unclaimed: raw reads
   * and raw writes pass through to the hardware), `elsewhere` (the access does not
   * touch it) or `absent` (the function has none).
   */
  pasid_cap: 'exposed' | 'hidden' | 'elsewhere' | 'absent';
  /** The PASID capability registers the access touches, in order. */
  pasid_registers: PasidRegister[];
  chunks: ConfigChunk[];
}

/**
 * Where a guest's config access lands on a function, as vfio-pci splits and routes it
 * (docs/kernel-behaviour.md section 7); null for an unknown bdf.
 *
 * @example
 * configAccessFacts(s, bdf, 0x14e, 2, 'write')?.chunks[0]?.handling; // 'dropped: the capability is read-only to the guest'
 */
export function configAccessFacts(s: HostState, bdf: string | undefined, offset: number, size: number, kind: 'read' | 'write'): ConfigAccessFacts | null {
  const d = bdf === undefined ? undefined : s.devices.get(bdf);
  if (!d) return null;
  const at = d.pasidOffset;
  const inPasid = (pos: number) => at !== null && pos >= at && pos < at + PCI_EXT_CAP_PASID_SIZEOF;
  const register = (pos: number): PasidRegister | null => {
    if (!inPasid(pos)) return null;
    const rel = pos - at!;
    return rel < PCI_PASID_CAP ? 'header' : rel < PCI_PASID_CTRL ? 'capability' : 'control';
  };
  const touched = new Set<PasidRegister>();
  for (let pos = offset; pos < offset + size; pos++) {
    const r = register(pos);
    if (r) touched.add(r);
  }
  const out: ConfigAccessFacts = {
    offset, size, in_config_space: offset + size <= d.cfgSize,
    pasid_cap: at === null ? 'absent' : touched.size === 0 ? 'elsewhere' : d.pasidShown ? 'exposed' : 'hidden',
    pasid_registers: (['header', 'capability', 'control'] as const).filter((r) => touched.has(r)),
    chunks: [],
  };
  if (!out.in_config_space) return out;
  for (const [pos, n] of chunks(offset, size)) {
    const region = pos < PCI_CFG_SPACE_SIZE ? 'standard' : d.map[pos] === PCI_CAP_ID_INVALID ? 'unclaimed' : 'capability';
    let handling: string;
    if (region === 'standard') handling = kind === 'read' ? 'read from the hardware (standard space)' : 'dropped: the standard space is not modelled';
    else if (region === 'unclaimed') handling = kind === 'read' ? 'read raw from the hardware (no capability claims it)' : 'written raw to the hardware (no capability claims it)';
    else if (kind === 'write') handling = 'dropped: the capability is read-only to the guest';
    else handling = pos - capStart(d.map, pos) < EXT_CAP_HEADER_SIZE ? "the header, from vfio-pci's virtualised copy" : 'read through to the hardware';
    out.chunks.push({ offset: pos, size: n, region, pasid_register: register(pos), handling });
  }
  return out;
}

