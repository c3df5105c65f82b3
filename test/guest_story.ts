import type { Ledger } from '../src/ledger.js';
import type { Outcome, PasidCapExposure, Profile, Request } from '../src/model/types.js';
import { freshLedger, setupVm } from './helpers.js';

/** Shared material of the guest-view suites (not a suite itself). */

export const NESTING = 'VFIO_TYPE1_NESTING_IOMMU';
/** A physical function: AER at 0x100, PASID at 0x148, ATS at 0x160. */
export const PF = '0000:3b:00.0';
export const PF_PASID = 0x148;
/** A VF of it with a PASID capability at 0x100: vfio-pci hides it whatever the policy. */
export const VF = '0000:3b:00.1';
export const VF_PASID = 0x100;

/** One request the story issued, with what the ledger answered. */
export interface Issued {
  name: string;
  req: Request;
  out: Outcome;
}

export interface GuestStory {
  profile: Profile;
  exposure: PasidCapExposure;
  ledger: Ledger;
  path: string;
  issued: Issued[];
  /** The outcome of the request issued under `name`. */
  out(name: string): Outcome;
}

/**
 * A host with guests using their vIOMMU and config space, under one profile and one
 * PASID-capability policy (pasid_quota 2, capacity 4):
 * - vm1: c1 NESTING with only an mdev group (v1: no domain; v7: no vfio_mm), t1 TYPE1v2,
 *   c2 NESTING with g2, which holds the PF and the VF; it allocates through VCMD until its
 *   quota is spent, frees, writes an undefined command, reads VCRSP;
 * - vm2 started with VCCAP 0: its write is dropped; `ghost` is no vm at all;
 * - vm3: c3 asks for PASID 0, for a PASID above the 20-bit width, once more past its
 *   quota, then a v7 range FREE over everything;
 * - vm4: c4 NESTING when capacity is gone, then GET_INFO on it;
 * - the guest writes the PF's PASID control (Enable, then Execute only), the AER header,
 *   the standard space, and the VF's PASID control; one read past the config space.
 */
export async function guestStory(profile: Profile, exposure: PasidCapExposure): Promise<GuestStory> {
  const ledger = await freshLedger({ profile, pasid_cap_exposure: exposure, pasid_quota: 2, capacity: 4 });
  const issued: Issued[] = [];
  const run = (name: string, req: Request): Outcome => {
    const out = ledger.request(req);
    issued.push({ name, req, out });
    return out;
  };
  run('vm1', { op: 'vm_start', vm: 'vm1', mm: 'm1' });
  run('c1 open', { op: 'container_open', vm: 'vm1', container: 'c1' });
  run('c1 mdev', { op: 'group_attach', container: 'c1', group: 'mdev', iommu_backed: false });
  run('c1 iommu', { op: 'set_iommu', container: 'c1', type: NESTING });
  run('t1 open', { op: 'container_open', vm: 'vm1', container: 't1' });
  run('t1 group', { op: 'group_attach', container: 't1', group: 'gt' });
  run('t1 iommu', { op: 'set_iommu', container: 't1', type: 'VFIO_TYPE1v2_IOMMU' });
  run('c2 open', { op: 'container_open', vm: 'vm1', container: 'c2' });
  run('c2 group', { op: 'group_attach', container: 'c2', group: 'g2' });
  run('c2 iommu', { op: 'set_iommu', container: 'c2', type: NESTING });
  run('pf add', {
    op: 'device_add', group: 'g2', bdf: PF, is_vf: false, pasid_cap: { exec: true, priv: false, width: 20, offset: PF_PASID },
    ecaps_before: [{ id: 0x01, offset: 0x100 }], ecaps_after: [{ id: 0x0f, offset: 0x160 }],
  });
  run('vf add', { op: 'device_add', group: 'g2', bdf: VF, is_vf: true, pasid_cap: { exec: false, priv: false, width: 16 } });
  run('read aer', { op: 'config_read', bdf: PF, offset: 0x100, size: 4 });
  run('read pasid hdr', { op: 'config_read', bdf: PF, offset: PF_PASID, size: 4 });
  run('enable', { op: 'config_write', bdf: PF, offset: PF_PASID + 6, size: 2, value: 1 });
  run('exec only', { op: 'config_write', bdf: PF, offset: PF_PASID + 6, size: 2, value: 2 });
  run('write aer', { op: 'config_write', bdf: PF, offset: 0x100, size: 4, value: 0xdeadbeef });
  run('write std', { op: 'config_write', bdf: PF, offset: 0x10, size: 4, value: 0 });
  run('read past', { op: 'config_read', bdf: PF, offset: 4094, size: 4 });
  run('vf enable', { op: 'config_write', bdf: VF, offset: VF_PASID + 6, size: 2, value: 1 });
  run('alloc 1', { op: 'vcmd_write', vm: 'vm1', value: 1 });
  run('alloc 2', { op: 'vcmd_write', vm: 'vm1', value: 1 });
  run('alloc 3', { op: 'vcmd_write', vm: 'vm1', value: 1 });
  run('read vcrsp', { op: 'vcmd_read', vm: 'vm1' });
  run('free 1', { op: 'vcmd_write', vm: 'vm1', value: (1 << 8) | 2 });
  run('free 999', { op: 'vcmd_write', vm: 'vm1', value: (999 << 8) | 2 });
  run('undefined', { op: 'vcmd_write', vm: 'vm1', value: 7 });
  run('vm2', { op: 'vm_start', vm: 'vm2', mm: 'm2', vccap: 0 });
  run('no pas', { op: 'vcmd_write', vm: 'vm2', value: 1 });
  run('ghost', { op: 'vcmd_write', vm: 'ghost', value: 1 });
  setupVm(ledger, 'vm3', 'm3', 'c3', 'g3');
  run('zero', { op: 'pasid_alloc', container: 'c3', min: 0, max: 5 });
  run('wide', { op: 'pasid_alloc', container: 'c3', min: 0x7fffff00, max: 0x80000000 });
  run('over quota', { op: 'pasid_alloc', container: 'c3', min: 1, max: 0xfffff });
  run('range free', { op: 'pasid_free', container: 'c3', min: 0, max: 0x80000000 });
  setupVm(ledger, 'vm4', 'm4', 'c4', 'g4');
  run('info c2', { op: 'get_info', container: 'c2' });
  run('info c4', { op: 'get_info', container: 'c4' });
  return {
    profile, exposure, ledger, path: ledger.log.db.name, issued,
    out(name: string) {
      const x = issued.find((i) => i.name === name);
      if (!x) throw new Error(`no request named ${name}`);
      return x.out;
    },
  };
}
