import type { HostState } from '../../model/state.js';
import { containerFacts, groupFacts, vfioMmFacts, vmFacts } from '../facts.js';
import type { Recorded } from './recorded.js';
import { callerFacts } from './caller.js';
import type { ContainerFact, ExplainFacts } from './types.js';

/** The facts of the host's lifecycle requests: vms, containers, groups, VFIO_SET_IOMMU. */

const open = (c: ContainerFact): c is NonNullable<ContainerFact> => c !== null && c.state !== 'closed';

/**
 * vm_start / vm_exit / vm_crash: the vm; for an end, its open containers and the vfio_mms
 * they hold (what the end releases).
 *
 * @example
 * vmLifecycleFacts(s, { op: 'vm_crash', vm: 'vm2' }).facts.vfio_mms; // [{ vfio_mm: 2, held: 9, ... }]
 */
export function vmLifecycleFacts(s: HostState, r: Recorded<'vm_start' | 'vm_exit' | 'vm_crash'>): ExplainFacts {
  const vm = vmFacts(s, r.vm);
  if (r.op === 'vm_start' || !vm) return { kind: 'vm_lifecycle', facts: { vm } };
  const cs = vm.containers.map((c) => containerFacts(s, c)).filter(open);
  const mms = new Set(cs.map((c) => c.vfio_mm).filter((m) => m !== null));
  return { kind: 'vm_lifecycle', facts: { vm, open_containers: cs, vfio_mms: [...mms].map((m) => vfioMmFacts(s, m)) } };
}

/**
 * container_open: the opening vm, and the container when the name is already taken.
 *
 * @example
 * containerOpenFacts(s, { op: 'container_open', vm: 'vm1', container: 'c1' }).facts.container; // null
 */
export function containerOpenFacts(s: HostState, r: Recorded<'container_open'>): ExplainFacts {
  return { kind: 'container_open', facts: { vm: vmFacts(s, r.vm), container: containerFacts(s, r.container) } };
}

/**
 * container_close: the caller and the container.
 *
 * @example
 * containerCloseFacts(s, { op: 'container_close', container: 'c1' }).facts.container?.state; // 'iommu_set'
 */
export function containerCloseFacts(s: HostState, r: Recorded<'container_close'>): ExplainFacts {
  return { kind: 'container_close', facts: { ...callerFacts(s, r.vm), container: containerFacts(s, r.container) } };
}

/**
 * group_attach / group_detach: the caller, the container and the group.
 *
 * @example
 * groupOpFacts(s, { op: 'group_detach', container: 'c1', group: 'g1' }).facts.group?.container; // 'c1'
 */
export function groupOpFacts(s: HostState, r: Recorded<'group_attach' | 'group_detach'>): ExplainFacts {
  return { kind: 'group', facts: { ...callerFacts(s, r.vm), container: containerFacts(s, r.container), group: groupFacts(s, r.group) } };
}

/**
 * VFIO_SET_IOMMU: the container, the caller's mm (the named vm's, else the opener's) and
 * its live vfio_mm (which the container would share), else the quota and capacity a new
 * one needs.
 *
 * @example
 * setIommuFacts(s, { op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_NESTING_IOMMU' }).facts.live_vfio_mm?.refs; // 1
 */
export function setIommuFacts(s: HostState, r: Recorded<'set_iommu'>): ExplainFacts {
  const container = containerFacts(s, r.container);
  const opener = vmFacts(s, r.vm ?? container?.vm);
  const live = opener ? s.liveByMm.get(opener.mm) : undefined;
  return {
    kind: 'set_iommu',
    facts: {
      ...callerFacts(s, r.vm), container,
      caller_mm: opener?.mm ?? null, live_vfio_mm: vfioMmFacts(s, live), pasid_quota: s.pasidQuota, capacity_avail: s.capacityAvail,
    },
  };
}
