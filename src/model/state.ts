import { IdAllocator } from './allocator.js';
import type { DeviceConfig } from './pci_access.js';
import type { HostConfig } from './types.js';

/**
 * A VMM process. `containers` are the container fds it opened, in open order.
 * `vccap`, `vcrsp` and `viommu` are its QEMU vIOMMU's virtual command registers
 * (docs/kernel-behaviour.md section 6): reset when the process starts.
 */
export interface VmState {
  vm: string;
  mm: string;
  state: 'running' | 'exited' | 'crashed';
  containers: string[];
  /** VCCAP: bit 0 (PAS) says the guest may ask for PASIDs. */
  vccap: number;
  /** VCRSP: what the guest reads after its last command. */
  vcrsp: number;
  /** The virtual command machine's state: `in_progress` only inside one vcmd_write. */
  viommu: 'ready' | 'in_progress';
}

/**
 * A PCI function bound to vfio-pci: its hardware config space (`phys`, changed only by
 * raw guest writes) and vfio-pci's virtualisation of it, built when it was added.
 */
export interface DeviceState extends DeviceConfig {
  bdf: string;
  group: string;
  is_vf: boolean;
  state: 'present' | 'removed';
}

/** A container fd; `vfio_mm` is the account its backend took at set iommu (or null). */
export interface ContainerState {
  container: string;
  /** The vm that opened the fd: its exit closes the container. */
  vm: string;
  state: 'unset' | 'iommu_set' | 'closed';
  iommu_type: string | null;
  /** Attached groups, in attach order. */
  groups: string[];
  vfio_mm: number | null;
}

/** An IOMMU group. `iommu_backed: false` is a mediated-device group with no IOMMU domain. */
export interface GroupState {
  group: string;
  iommu_backed: boolean;
  noiommu: boolean;
  container: string | null;
}

/** A live vfio_mm. `quota` is what it recorded; `set_quota` the limit its ioasid set enforces. */
export interface VfioMmState {
  vfio_mm: number;
  mm: string;
  gen: number;
  refs: number;
  quota: number;
  set_quota: number;
  pasids: Set<number>;
}

/**
 * The whole host as a value. `evolve` takes it by ownership and returns it changed:
 * with a million PASIDs a copy per entry is not affordable, so callers that need an
 * old state keep a `cloneState` of it.
 */
export interface HostState {
  config: HostConfig;
  /** The seq of the last entry evolved in. */
  seq: number;
  /** The `at` of the last entry evolved in. */
  at: string | null;
  /** The `pasid_quota` module parameter now. */
  pasidQuota: number;
  /** `capacity` less the quotas of all live sets (invariant 3). */
  capacityAvail: number;
  vms: Map<string, VmState>;
  containers: Map<string, ContainerState>;
  groups: Map<string, GroupState>;
  /** Live vfio_mms by serial number. */
  vfioMms: Map<number, VfioMmState>;
  /** The live vfio_mm of each mm token: `vfio_mm_get` finds it here. */
  liveByMm: Map<string, number>;
  /** The last generation of vfio_mm each mm token had. */
  mmGen: Map<string, number>;
  /** The serial number of the last vfio_mm created. */
  lastVfioMm: number;
  /** The host-wide ioasid namespace. */
  ids: IdAllocator;
  /** Which vfio_mm holds each allocated PASID. */
  owner: Map<number, number>;
  /** PCI functions by bdf, present or removed. */
  devices: Map<string, DeviceState>;
}

/**
 * The host just after its configuration entry: nothing running, all capacity free.
 *
 * @example
 * const s = emptyState({ profile: 'v1', pasid_bits: 20, capacity: 1 << 20, pasid_quota: 1000, pasid_cap_exposure: 'hidden' });
 * s.capacityAvail; // 1048576
 */
export function emptyState(config: HostConfig): HostState {
  return {
    config,
    seq: 0,
    at: null,
    pasidQuota: config.pasid_quota,
    capacityAvail: config.capacity,
    vms: new Map(),
    containers: new Map(),
    groups: new Map(),
    vfioMms: new Map(),
    liveByMm: new Map(),
    mmGen: new Map(),
    lastVfioMm: 0,
    ids: new IdAllocator(),
    owner: new Map(),
    devices: new Map(),
  };
}

/** A deep copy: the copy and the original evolve independently. */
export function cloneState(s: HostState): HostState {
  const mapOf = <K, V>(m: Map<K, V>, f: (v: V) => V) => new Map([...m].map(([k, v]) => [k, f(v)] as [K, V]));
  return {
    ...s,
    vms: mapOf(s.vms, (v) => ({ ...v, containers: [...v.containers] })),
    containers: mapOf(s.containers, (c) => ({ ...c, groups: [...c.groups] })),
    groups: mapOf(s.groups, (g) => ({ ...g })),
    vfioMms: mapOf(s.vfioMms, (m) => ({ ...m, pasids: new Set(m.pasids) })),
    liveByMm: new Map(s.liveByMm),
    mmGen: new Map(s.mmGen),
    ids: s.ids.clone(),
    owner: new Map(s.owner),
    // vconfig and map never change after a device is added; only the hardware bytes do.
    devices: mapOf(s.devices, (d) => ({ ...d, phys: Uint8Array.from(d.phys) })),
  };
}

/**
 * Whether QEMU treats a container as able to take PASID requests: its IOMMU is set to
 * the NESTING type, the only one the vSVA QEMU series registers with the vIOMMU (in v1
 * it is exactly what GET_INFO reports as `VFIO_IOMMU_PASID_REQS`). Whether the request
 * then succeeds (a vfio_mm, a domain, quota) is the request's business.
 *
 * @example
 * supportsPasidRequests(state.containers.get('c1')!); // true for a NESTING container with its IOMMU set
 */
export function supportsPasidRequests(c: ContainerState): boolean {
  return c.state === 'iommu_set' && c.iommu_type === 'VFIO_TYPE1_NESTING_IOMMU';
}

/**
 * Whether a container's backend has an IOMMU-backed domain: its IOMMU is set and
 * at least one attached group brings a real IOMMU domain (an mdev-only container has none).
 */
export function hasIommuDomain(s: HostState, c: ContainerState): boolean {
  if (c.state !== 'iommu_set') return false;
  for (const g of c.groups) {
    const group = s.groups.get(g);
    if (group && group.iommu_backed && !group.noiommu) return true;
  }
  return false;
}

/** Whether a container holds no-IOMMU groups (null when it holds none at all). */
export function containerNoiommu(s: HostState, c: ContainerState): boolean | null {
  const first = c.groups[0];
  if (first === undefined) return null;
  return s.groups.get(first)?.noiommu ?? false;
}
