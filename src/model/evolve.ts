import { deviceConfigOf } from './device_image.js';
import type { HostState } from './state.js';
import type { Entry, MachineName, TransitionEntry, TransitionEntryOf } from './types.js';

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

type Of<M extends MachineName> = TransitionEntryOf<M>;

function apply(s: HostState, t: TransitionEntry): void {
  switch (t.machine) {
    case 'vm': return applyVm(s, t);
    case 'container': return applyContainer(s, t);
    case 'group': return applyGroup(s, t);
    case 'vfio_mm': return applyVfioMm(s, t);
    case 'pasid': return applyPasid(s, t);
    case 'module_param': s.pasidQuota = t.value; return;
    case 'device': return applyDevice(s, t);
    case 'viommu': return applyViommu(s, t);
  }
}

function applyVm(s: HostState, t: Of<'vm'>): void {
  if (t.event === 'VM_START') {
    // A new process: its vIOMMU registers start afresh (VCCAP as QEMU was configured, default PAS).
    s.vms.set(t.vm, { vm: t.vm, mm: t.mm, state: 'running', containers: [], vccap: typeof t.vccap === 'number' ? t.vccap : 1, vcrsp: 0, viommu: 'ready' });
    return;
  }
  const v = s.vms.get(t.vm);
  if (v) v.state = t.to as 'exited' | 'crashed';
}

function applyContainer(s: HostState, t: Of<'container'>): void {
  if (t.event === 'OPEN') {
    s.containers.set(t.container, { container: t.container, vm: t.vm, state: 'unset', iommu_type: null, groups: [], vfio_mm: null });
    s.vms.get(t.vm)?.containers.push(t.container);
    return;
  }
  const c = s.containers.get(t.container);
  if (!c) return;
  c.state = t.to as 'unset' | 'iommu_set' | 'closed';
  if (t.event === 'SET_IOMMU') c.iommu_type = t.iommu_type;
  if (t.event === 'LAST_GROUP_DETACH') {
    c.iommu_type = null;
    c.vfio_mm = null;
  }
}

function applyGroup(s: HostState, t: Of<'group'>): void {
  const id = t.group;
  if (t.event === 'SET_CONTAINER') {
    s.groups.set(id, { group: id, iommu_backed: t.iommu_backed, noiommu: t.noiommu, container: t.container });
    s.containers.get(t.container)?.groups.push(id);
    return;
  }
  const g = s.groups.get(id);
  if (g) g.container = null;
  const c = s.containers.get(t.container);
  if (c) c.groups = c.groups.filter((x) => x !== id);
}

function applyVfioMm(s: HostState, t: Of<'vfio_mm'>): void {
  const id = t.vfio_mm;
  switch (t.event) {
    case 'CREATE': {
      const quota = t.quota;
      s.vfioMms.set(id, { vfio_mm: id, mm: t.mm, gen: t.gen, refs: 1, quota, set_quota: quota, pasids: new Set() });
      s.liveByMm.set(t.mm, id);
      s.mmGen.set(t.mm, t.gen);
      s.lastVfioMm = Math.max(s.lastVfioMm, id);
      s.capacityAvail -= quota;
      const container = s.containers.get(t.container);
      if (container) container.vfio_mm = id;
      return;
    }
    case 'GET':
    case 'PUT': {
      const m = s.vfioMms.get(id);
      if (m) m.refs = t.refs;
      const container = s.containers.get(t.container);
      if (container && t.event === 'GET') container.vfio_mm = id;
      return;
    }
    case 'QUOTA_ADJUST': {
      const m = s.vfioMms.get(id);
      if (!m) return;
      s.capacityAvail += m.set_quota - t.set_quota;
      m.quota = t.quota;
      m.set_quota = t.set_quota;
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

function applyPasid(s: HostState, t: Of<'pasid'>): void {
  const pasid = t.pasid;
  const m = s.vfioMms.get(t.vfio_mm);
  if (t.event === 'ALLOC') {
    s.ids.mark(pasid);
    s.owner.set(pasid, t.vfio_mm);
    m?.pasids.add(pasid);
  } else {
    s.ids.free(pasid);
    s.owner.delete(pasid);
    m?.pasids.delete(pasid);
  }
}

function applyDevice(s: HostState, t: Of<'device'>): void {
  if (t.event === 'ADD') {
    const cfg = deviceConfigOf(t, s.config.pasid_cap_exposure);
    s.devices.set(t.bdf, { ...cfg, bdf: t.bdf, group: t.group, is_vf: t.is_vf === true, state: 'present' });
    return;
  }
  const d = s.devices.get(t.bdf);
  if (!d) return;
  if (t.event === 'REMOVE') {
    d.state = 'removed';
    return;
  }
  // CONFIG_WRITE: the chunks that reached the hardware.
  for (const w of t.raw ?? []) d.phys.set(Buffer.from(w.hex, 'hex'), w.offset);
}

function applyViommu(s: HostState, t: Of<'viommu'>): void {
  const v = s.vms.get(t.vm);
  if (!v) return;
  v.viommu = t.to as 'ready' | 'in_progress';
  v.vcrsp = t.vcrsp;
}
