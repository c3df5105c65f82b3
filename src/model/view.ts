import { pasidView, type PasidView } from './device_image.js';
import { guestEcaps } from './pci_access.js';
import { readPasidCtrl } from '../uapi/pci_pasid_cap.js';
import type { HostState } from './state.js';

/** The host as plain data, the shape `state --json` prints and `replay` returns. */
export interface StateView {
  seq: number;
  at: string | null;
  profile: string;
  pasid_quota: number;
  capacity: number;
  capacity_avail: number;
  vms: Array<{ vm: string; mm: string; state: string; containers: string[] }>;
  containers: Array<{ container: string; vm: string; state: string; iommu_type: string | null; groups: string[]; vfio_mm: number | null }>;
  groups: Array<{ group: string; container: string | null; iommu_backed: boolean; noiommu: boolean }>;
  vfio_mms: Array<{ vfio_mm: number; mm: string; gen: number; refs: number; quota: number; set_quota: number; held: number; pasids: number[] }>;
  /** Each vm's vIOMMU virtual command registers (docs/kernel-behaviour.md section 6). */
  viommus: Array<{ vm: string; vccap: number; vcrsp: number; state: string }>;
  /** PCI functions: what the guest finds in their extended config space (docs/kernel-behaviour.md section 7). */
  devices: DeviceView[];
}

/** One PCI function as `state` shows it. */
export interface DeviceView {
  bdf: string;
  group: string;
  is_vf: boolean;
  state: string;
  cfg_size: number;
  /** The guest's view of the PASID capability. */
  pasid_view: PasidView;
  /** Where the function's PASID capability sits (null: it has none). */
  pasid_offset: number | null;
  /** The PASID control register as the hardware holds it (null: no capability). */
  pasid_ctrl: number | null;
  /** The extended capabilities the guest finds walking the chain. */
  guest_ecaps: Array<{ id: number; version: number; offset: number }>;
}

/**
 * The host as plain data (copies: the view does not change when the state evolves).
 * `vm` narrows it to one vm, its containers and the vfio_mm of its mm.
 *
 * @example
 * viewState(ledger.state).vfio_mms[0]; // { vfio_mm: 1, mm: '0x1000', refs: 2, quota: 1000, pasids: [1, 2] }
 */
export function viewState(s: HostState, vm?: string): StateView {
  const v: StateView = {
    seq: s.seq,
    at: s.at,
    profile: s.config.profile,
    pasid_quota: s.pasidQuota,
    capacity: s.config.capacity,
    capacity_avail: s.capacityAvail,
    vms: [...s.vms.values()].map((x) => ({ vm: x.vm, mm: x.mm, state: x.state, containers: [...x.containers] })),
    containers: [...s.containers.values()].map((c) => ({
      container: c.container, vm: c.vm, state: c.state, iommu_type: c.iommu_type, groups: [...c.groups], vfio_mm: c.vfio_mm,
    })),
    groups: [...s.groups.values()].map((g) => ({ group: g.group, container: g.container, iommu_backed: g.iommu_backed, noiommu: g.noiommu })),
    vfio_mms: [...s.vfioMms.values()].map((m) => ({
      vfio_mm: m.vfio_mm, mm: m.mm, gen: m.gen, refs: m.refs, quota: m.quota, set_quota: m.set_quota,
      held: m.pasids.size, pasids: [...m.pasids].sort((a, b) => a - b),
    })),
    viommus: [...s.vms.values()].map((x) => ({ vm: x.vm, vccap: x.vccap, vcrsp: x.vcrsp, state: x.viommu })),
    devices: [...s.devices.values()].map((d) => ({
      bdf: d.bdf, group: d.group, is_vf: d.is_vf, state: d.state, cfg_size: d.cfgSize,
      pasid_view: pasidView(d), pasid_offset: d.pasidOffset,
      pasid_ctrl: d.pasidOffset === null ? null : readPasidCtrl(d.phys, d.pasidOffset),
      guest_ecaps: guestEcaps(d),
    })),
  };
  if (vm === undefined) return v;
  const mine = s.vms.get(vm);
  const containers = new Set(v.containers.filter((c) => c.vm === vm).map((c) => c.container));
  const mms = new Set(v.containers.filter((c) => containers.has(c.container)).map((c) => c.vfio_mm));
  if (mine) { const live = s.liveByMm.get(mine.mm); if (live !== undefined) mms.add(live); }
  const groups = new Set(v.groups.filter((g) => g.container !== null && containers.has(g.container)).map((g) => g.group));
  return {
    ...v,
    vms: v.vms.filter((x) => x.vm === vm),
    containers: v.containers.filter((c) => containers.has(c.container)),
    groups: v.groups.filter((g) => g.container !== null && containers.has(g.container)),
    vfio_mms: v.vfio_mms.filter((m) => mms.has(m.vfio_mm)),
    viommus: v.viommus.filter((x) => x.vm === vm),
    devices: v.devices.filter((d) => groups.has(d.group)),
  };
}
