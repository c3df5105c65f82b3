import { deviceConfigOf, type DeviceAddFields } from './device_image.js';
import type { HostState } from './state.js';
import type { Entry, TransitionEntry } from './types.js';

/**
 * The host after one more entry of the log. Only transitions change the host; a
 * request entry records what was asked and answered. Evolve trusts the log (the audit
 * is what doubts it): it applies each transition's recorded fields without re-deciding.
 * Takes `s` by ownership and returns it changed.
 *
 * @example
 * for (const e of entries) s = evolve(s, e);
 */
export function evolve(s: HostState, e: Entry): HostState {
  s.seq = e.seq;
  s.at = e.at;
  if (e.type === 'transition') apply(s, e);
  return s;
}

function apply(s: HostState, t: TransitionEntry): void {
  switch (t.machine) {
    case 'vm': return applyVm(s, t);
    case 'container': return applyContainer(s, t);
    case 'group': return applyGroup(s, t);
    case 'vfio_mm': return applyVfioMm(s, t);
    case 'pasid': return applyPasid(s, t);
    case 'module_param': s.pasidQuota = t.value as number; return;
    case 'device': return applyDevice(s, t);
    case 'viommu': return applyViommu(s, t);
  }
}

function applyVm(s: HostState, t: TransitionEntry): void {
  const vm = t.vm as string;
  if (t.event === 'VM_START') {
    // A new process: its vIOMMU registers start afresh (VCCAP as QEMU was configured, default PAS).
    const vccap = typeof t.vccap === 'number' ? t.vccap : 1;
    s.vms.set(vm, { vm, mm: t.mm as string, state: 'running', containers: [], vccap, vcrsp: 0, viommu: 'ready' });
    return;
  }
  const v = s.vms.get(vm);
  if (v) v.state = t.to as 'exited' | 'crashed';
}

function applyContainer(s: HostState, t: TransitionEntry): void {
  const id = t.container as string;
  if (t.event === 'OPEN') {
    s.containers.set(id, { container: id, vm: t.vm as string, state: 'unset', iommu_type: null, groups: [], vfio_mm: null });
    s.vms.get(t.vm as string)?.containers.push(id);
    return;
  }
  const c = s.containers.get(id);
  if (!c) return;
  c.state = t.to as 'unset' | 'iommu_set' | 'closed';
  if (t.event === 'SET_IOMMU') c.iommu_type = t.iommu_type as string;
  if (t.event === 'LAST_GROUP_DETACH') {
    c.iommu_type = null;
    c.vfio_mm = null;
  }
}

function applyGroup(s: HostState, t: TransitionEntry): void {
  const id = t.group as string;
  const container = t.container as string;
  if (t.event === 'SET_CONTAINER') {
    s.groups.set(id, { group: id, iommu_backed: t.iommu_backed as boolean, noiommu: t.noiommu as boolean, container });
    s.containers.get(container)?.groups.push(id);
    return;
  }
  const g = s.groups.get(id);
  if (g) g.container = null;
  const c = s.containers.get(container);
  if (c) c.groups = c.groups.filter((x) => x !== id);
}

function applyVfioMm(s: HostState, t: TransitionEntry): void {
  const id = t.vfio_mm as number;
  const container = t.container === undefined ? undefined : s.containers.get(t.container as string);
  switch (t.event) {
    case 'CREATE': {
      const mm = t.mm as string;
      const quota = t.quota as number;
      s.vfioMms.set(id, { vfio_mm: id, mm, gen: t.gen as number, refs: 1, quota, set_quota: quota, pasids: new Set() });
      s.liveByMm.set(mm, id);
      s.mmGen.set(mm, t.gen as number);
      s.lastVfioMm = Math.max(s.lastVfioMm, id);
      s.capacityAvail -= quota;
      if (container) container.vfio_mm = id;
      return;
    }
    case 'GET':
    case 'PUT': {
      const m = s.vfioMms.get(id);
      if (m) m.refs = t.refs as number;
      if (container && t.event === 'GET') container.vfio_mm = id;
      return;
    }
    case 'QUOTA_ADJUST': {
      const m = s.vfioMms.get(id);
      if (!m) return;
      s.capacityAvail += m.set_quota - (t.set_quota as number);
      m.quota = t.quota as number;
      m.set_quota = t.set_quota as number;
      return;
    }
    case 'RELEASE': {
      const m = s.vfioMms.get(id);
      if (!m) return;
      s.capacityAvail += m.set_quota;
      s.vfioMms.delete(id);
      if (s.liveByMm.get(m.mm) === id) s.liveByMm.delete(m.mm);
      return;
    }
  }
}

function applyPasid(s: HostState, t: TransitionEntry): void {
  const pasid = t.pasid as number;
  const m = s.vfioMms.get(t.vfio_mm as number);
  if (t.event === 'ALLOC') {
    s.ids.mark(pasid);
    s.owner.set(pasid, t.vfio_mm as number);
    m?.pasids.add(pasid);
  } else {
    s.ids.free(pasid);
    s.owner.delete(pasid);
    m?.pasids.delete(pasid);
  }
}

function applyDevice(s: HostState, t: TransitionEntry): void {
  const bdf = t.bdf as string;
  if (t.event === 'ADD') {
    const cfg = deviceConfigOf(t as unknown as DeviceAddFields, s.config.pasid_cap_exposure);
    s.devices.set(bdf, { ...cfg, bdf, group: t.group as string, is_vf: t.is_vf === true, state: 'present' });
    return;
  }
  const d = s.devices.get(bdf);
  if (!d) return;
  if (t.event === 'REMOVE') {
    d.state = 'removed';
    return;
  }
  // CONFIG_WRITE: the chunks that reached the hardware.
  for (const w of (t.raw ?? []) as Array<{ offset: number; hex: string }>) d.phys.set(Buffer.from(w.hex, 'hex'), w.offset);
}

function applyViommu(s: HostState, t: TransitionEntry): void {
  const v = s.vms.get(t.vm as string);
  if (!v) return;
  v.viommu = t.to as 'ready' | 'in_progress';
  v.vcrsp = t.vcrsp as number;
}
