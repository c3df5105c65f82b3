import { IdAllocator } from './allocator.js';
import type { HostConfig } from './types.js';

/** A VMM process. `containers` are the container fds it opened, in open order. */
export interface VmState {
  vm: string;
  mm: string;
  state: 'running' | 'exited' | 'crashed';
  containers: string[];
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
  };
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
