import type { HostState } from '../../model/state.js';
import { configAccessFacts, containerFacts, deviceFacts, vfioMmFacts, viommuFacts } from '../facts.js';
import { callerFacts } from './caller.js';
import type { Recorded } from './recorded.js';
import type { ExplainFacts } from './types.js';

/**
 * The facts of the guest's requests: its virtual commands, its config-space accesses and
 * GET_INFO. (What the guest saw is the guest view, src/replay/guest_view.ts.)
 */

/**
 * vcmd_write / vcmd_read: the vm's vIOMMU registers; for a write, the vm's containers
 * (QEMU walks them in open order).
 *
 * @example
 * vcmdFacts(s, { op: 'vcmd_read', vm: 'vm1' }).facts; // { caller: {...}, viommu: { vm: 'vm1', vccap: 1, pas: true, vcrsp: 256, state: 'ready' } }
 */
export function vcmdFacts(s: HostState, r: Recorded<'vcmd_write' | 'vcmd_read'>): ExplainFacts {
  const caller = callerFacts(s, r.vm);
  const viommu = viommuFacts(s, r.vm);
  if (r.op === 'vcmd_write' && caller.caller) {
    return { kind: 'vcmd', facts: { ...caller, viommu, containers: caller.caller.containers.map((c) => containerFacts(s, c)) } };
  }
  return { kind: 'vcmd', facts: { ...caller, viommu } };
}

/**
 * config_read / config_write: the function and where the access lands (vfio-pci's chunks).
 *
 * @example
 * configFacts(s, { op: 'config_write', bdf: '0000:3b:00.0', offset: 0x14e, size: 2, value: 1 }).facts; // { device: {...}, access: { pasid_cap: 'exposed', ... } }
 */
export function configFacts(s: HostState, r: Recorded<'config_read' | 'config_write'>): ExplainFacts {
  return {
    kind: 'config_access',
    facts: {
      device: deviceFacts(s, r.bdf),
      access: configAccessFacts(s, r.bdf, r.offset ?? NaN, r.size ?? NaN, r.op === 'config_write' ? 'write' : 'read'),
    },
  };
}

/**
 * get_info: the container, its vfio_mm and the profile.
 *
 * @example
 * getInfoFacts(s, { op: 'get_info', container: 'c2' }).facts.profile; // 'v7'
 */
export function getInfoFacts(s: HostState, r: Recorded<'get_info'>): ExplainFacts {
  const container = containerFacts(s, r.container);
  return { kind: 'get_info', facts: { ...callerFacts(s, r.vm), container, vfio_mm: vfioMmFacts(s, container?.vfio_mm), profile: s.config.profile } };
}
