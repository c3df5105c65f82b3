import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EACCES, EEXIST, EFAULT, EINVAL, ENOENT, ENOSPC, EOPNOTSUPP, EPERM } from '../src/uapi/errno.js';
import { encodePasidRequestV1 } from '../src/uapi/pasid_request_v1.js';
import { VFIO_IOMMU_PASID_ALLOC as ALLOC, VFIO_IOMMU_PASID_FREE as FREE } from '../src/uapi/vfio.js';
import { decider, vmWithContainer } from './support/decider.js';

// The kernel tables of docs/kernel-behaviour.md as decider specifications: decide and
// evolve only, no SQLite. Each row: given the requests that built the host, when one
// more arrives, then the outcome, the reason and the transitions, in order.
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const FULL = { min: 1, max: 0xfffff };
const v1 = suite('decider: v1 VFIO_IOMMU_PASID_REQUEST, checks in order');

v1('1: no iommu set is -EINVAL no_iommu, before any buffer check', () => {
  decider().given({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }, { op: 'container_open', vm: 'vm1', container: 'c1' })
    .when({ op: 'pasid_request', container: 'c1', hex: '00' })
    .then({ ret: -EINVAL, reason: 'no_iommu', transitions: [] });
});

v1('2-7: the buffer checks, first failure decides', () => {
  const full = encodePasidRequestV1({ flags: ALLOC, ...FULL });
  const rows: Array<[string, Uint8Array, number, string]> = [
    ['2 short', full.subarray(0, 7), -EFAULT, 'short_buffer'],
    ['3 argsz', encodePasidRequestV1({ argsz: 7, flags: ALLOC, ...FULL }), -EINVAL, 'bad_argsz'],
    ['4 unknown flags', encodePasidRequestV1({ flags: ALLOC | 4, ...FULL }), -EINVAL, 'unknown_flags'],
    ['5 both', encodePasidRequestV1({ flags: ALLOC | FREE, ...FULL }), -EINVAL, 'both_flags'],
    ['6 short for sizeof', full.subarray(0, 19), -EFAULT, 'short_buffer'],
    ['7 no flag', encodePasidRequestV1({ flags: 0 }), -EINVAL, 'no_flag'],
  ];
  for (const [label, buf, ret, reason] of rows) {
    decider().given(...vmWithContainer()).when({ op: 'pasid_request', container: 'c1', hex: hex(buf) }).then({ ret, reason, transitions: [] }, label);
  }
});

v1('ALLOC 8: no iommu-backed domain is -EFAULT no_domain', () => {
  decider().given({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }, { op: 'container_open', vm: 'vm1', container: 'c1' },
    { op: 'group_attach', container: 'c1', group: 'g1', iommu_backed: false }, { op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_NESTING_IOMMU' })
    .when({ op: 'pasid_alloc', container: 'c1', ...FULL }).then({ ret: -EFAULT, reason: 'no_domain', transitions: [] });
});

v1('ALLOC 9: no vfio_mm (capacity left none at set iommu: the quirk) is -EFAULT no_vfio_mm', () => {
  const g = decider({ capacity: 5, pasid_quota: 10 }).given(...vmWithContainer());
  assert.is(g.state.containers.get('c1')!.state, 'iommu_set', 'set iommu still succeeded');
  assert.is(g.state.containers.get('c1')!.vfio_mm, null);
  g.when({ op: 'pasid_alloc', container: 'c1', ...FULL }).then({ ret: -EFAULT, reason: 'no_vfio_mm', transitions: [] });
});

v1('ALLOC 10: a set holding quota ids is -EFAULT quota_exhausted', () => {
  const alloc = { op: 'pasid_alloc', container: 'c1', ...FULL } as const;
  decider({ pasid_quota: 2 }).given(...vmWithContainer(), alloc, alloc).when(alloc).then({ ret: -EFAULT, reason: 'quota_exhausted', transitions: [] });
});

v1('ALLOC 11: no free id in [min, max], also min > max, is -EFAULT range_exhausted', () => {
  decider().given(...vmWithContainer()).when({ op: 'pasid_alloc', container: 'c1', min: 9, max: 3 }).then({ ret: -EFAULT, reason: 'range_exhausted', transitions: [] });
  decider().given(...vmWithContainer(), { op: 'pasid_alloc', container: 'c1', min: 4, max: 4 })
    .when({ op: 'pasid_alloc', container: 'c1', min: 4, max: 4 }).then({ ret: -EFAULT, reason: 'range_exhausted', transitions: [] });
});

v1('ALLOC 12: id 0 is -EFAULT pasid_zero and stays allocated (quirk)', () => {
  const s = decider().given(...vmWithContainer()).when({ op: 'pasid_alloc', container: 'c1', min: 0, max: 10 })
    .then({ ret: -EFAULT, reason: 'pasid_zero', pasid: 0, transitions: [{ machine: 'pasid', event: 'ALLOC', pasid: 0 }] });
  assert.ok(s.owner.has(0), 'PASID 0 held until the set is destroyed');
});

v1('ALLOC ok: the lowest free id, shared namespace across vms', () => {
  decider().given(...vmWithContainer(), ...vmWithContainer('VFIO_TYPE1_NESTING_IOMMU', 'vm2', '0x2000', 'c2', 'g2'),
    { op: 'pasid_alloc', container: 'c1', ...FULL }, { op: 'pasid_alloc', container: 'c2', ...FULL }, { op: 'pasid_free', container: 'c1', pasid: 1 })
    .when({ op: 'pasid_alloc', container: 'c2', ...FULL })
    .then({ ret: 0, reason: null, pasid: 1, transitions: [{ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 1 }] });
});

v1('FREE 10, 11 and ok: not allocated -ENOENT, another vfio_mm\'s -EACCES, own 0', () => {
  const two = [...vmWithContainer(), ...vmWithContainer('VFIO_TYPE1_NESTING_IOMMU', 'vm2', '0x2000', 'c2', 'g2'), { op: 'pasid_alloc', container: 'c1', ...FULL } as const];
  decider().given(...two).when({ op: 'pasid_free', container: 'c1', pasid: 7 }).then({ ret: -ENOENT, reason: 'not_allocated', transitions: [] });
  decider().given(...two).when({ op: 'pasid_free', container: 'c2', pasid: 1 }).then({ ret: -EACCES, reason: 'not_owner', transitions: [] });
  decider().given(...two).when({ op: 'pasid_free', container: 'c1', pasid: 1 })
    .then({ ret: 0, reason: null, transitions: [{ machine: 'pasid', event: 'FREE', from: 'allocated', to: 'free', pasid: 1 }] });
});

v1.run();

const life = suite('decider: v1 lifecycles and cascades');

life('set iommu takes the calling vm\'s vfio_mm: created once, then a ref', () => {
  decider().given(...vmWithContainer()).when({ op: 'container_open', vm: 'vm1', container: 'c2' }).then({ ret: 0 });
  const g = decider().given(...vmWithContainer(), { op: 'container_open', vm: 'vm1', container: 'c2' }, { op: 'group_attach', container: 'c2', group: 'g2' });
  g.when({ op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_NESTING_IOMMU' })
    .then({ ret: 0, transitions: [{ machine: 'container', event: 'SET_IOMMU' }, { machine: 'vfio_mm', event: 'GET', refs: 2 }] });
});

life('a group already in a container is -EINVAL; set iommu without a group -EINVAL', () => {
  decider().given(...vmWithContainer(), { op: 'container_open', vm: 'vm1', container: 'c2' })
    .when({ op: 'group_attach', container: 'c2', group: 'g1' }).then({ ret: -EINVAL, transitions: [] });
  decider().given({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }, { op: 'container_open', vm: 'vm1', container: 'c1' })
    .when({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_NESTING_IOMMU' }).then({ ret: -EINVAL, transitions: [] });
});

life('vm exit cascades: group detach, vfio_mm put and release, every PASID freed, each its own transition', () => {
  const alloc = { op: 'pasid_alloc', container: 'c1', ...FULL } as const;
  const s = decider({ pasid_quota: 5 }).given(...vmWithContainer(), alloc, alloc).when({ op: 'vm_exit', vm: 'vm1' }).then({
    ret: 0,
    transitions: [
      { machine: 'group', event: 'UNSET_CONTAINER' },
      { machine: 'container', event: 'LAST_GROUP_DETACH' },
      // The last ref going is the release: every PASID freed first, each its own entry.
      { machine: 'pasid', event: 'FREE', pasid: 1 },
      { machine: 'pasid', event: 'FREE', pasid: 2 },
      { machine: 'vfio_mm', event: 'RELEASE', to: 'released' },
      { machine: 'container', event: 'CLOSE' },
      { machine: 'vm', event: 'VM_EXIT', to: 'exited' },
    ],
  });
  assert.is(s.owner.size, 0, 'nothing the vm held is left allocated');
  assert.is(s.capacityAvail, s.config.capacity, 'the quota went back to capacity');
});

life('set_pasid_quota: v1 records it with its actor; a later ALLOC adjusts lazily', () => {
  const alloc = { op: 'pasid_alloc', container: 'c1', ...FULL } as const;
  decider({ pasid_quota: 1 }).given(...vmWithContainer(), alloc, { op: 'set_pasid_quota', value: 3, actor: 'admin' })
    .when(alloc).then({ ret: 0, pasid: 2, transitions: [{ machine: 'vfio_mm', event: 'QUOTA_ADJUST', set_quota: 3 }, { machine: 'pasid', event: 'ALLOC', pasid: 2 }] });
});

life('a second vm_start of a running vm is -EEXIST', () => {
  decider().given({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }).when({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }).then({ ret: -EEXIST, transitions: [] });
});

life.run();

const v7 = suite('decider: profile v7 differences');

v7('no vfio_mm is -EOPNOTSUPP; quota and range both -ENOSPC; ALLOC returns the PASID', () => {
  decider({ profile: 'v7' }).given(...vmWithContainer('VFIO_TYPE1v2_IOMMU')).when({ op: 'pasid_alloc', container: 'c1', ...FULL })
    .then({ ret: -EOPNOTSUPP, reason: 'no_vfio_mm', transitions: [] });
  const alloc = { op: 'pasid_alloc', container: 'c1', ...FULL } as const;
  decider({ profile: 'v7', pasid_quota: 1 }).given(...vmWithContainer(), alloc).when(alloc).then({ ret: -ENOSPC, reason: 'quota_exhausted', transitions: [] });
  decider({ profile: 'v7' }).given(...vmWithContainer()).when({ op: 'pasid_alloc', container: 'c1', min: 5, max: 9 })
    .then({ ret: 5, pasid: 5, transitions: [{ machine: 'pasid', event: 'ALLOC', pasid: 5 }] });
});

v7('FREE frees only this vm\'s PASIDs in [min, max] and returns 0', () => {
  const g = [...vmWithContainer(), ...vmWithContainer('VFIO_TYPE1_NESTING_IOMMU', 'vm2', '0x2000', 'c2', 'g2'),
    { op: 'pasid_alloc', container: 'c1', ...FULL } as const, { op: 'pasid_alloc', container: 'c2', ...FULL } as const, { op: 'pasid_alloc', container: 'c1', ...FULL } as const];
  decider({ profile: 'v7' }).given(...g).when({ op: 'pasid_free', container: 'c1', min: 1, max: 100 })
    .then({ ret: 0, transitions: [{ machine: 'pasid', event: 'FREE', pasid: 1 }, { machine: 'pasid', event: 'FREE', pasid: 3 }] });
});

v7('a quota change is refused -EPERM and changes nothing', () => {
  const s = decider({ profile: 'v7' }).given().when({ op: 'set_pasid_quota', value: 5, actor: 'admin' }).then({ ret: -EPERM, transitions: [] });
  assert.is(s.pasidQuota, 1000);
});

v7.run();
