import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger, readConfig } from '../src/ledger.js';
import { StoreError } from '../src/store/open.js';
import * as u from '../src/uapi/index.js';
import { freshLedger, setupVm, steppingClock, tmpDb } from './helpers.js';
import { effects, transitionsOf } from './v7_checks.js';

const NESTING = 'VFIO_TYPE1_NESTING_IOMMU';
const s = suite('v7/lifecycle');

s('the profile is recorded in the config entry and a log replays under it', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { profile: 'v7', clock: steppingClock() });
  assert.is(readConfig(l.log)?.profile, 'v7');
  assert.is(JSON.parse(l.log.row(1)!.entry).profile, 'v7');
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  l.close();
  const again = await openLedger(path);
  assert.is(again.config.profile, 'v7', 'an existing log keeps its profile');
  assert.is(again.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 }).ret, 2, 'and runs v7 outcomes');
  again.close();
  try {
    await openLedger(path, { profile: 'v1' });
    assert.unreachable('a differing profile is refused');
  } catch (e) {
    assert.instance(e, StoreError);
    assert.match((e as Error).message, /profile is v7 in the log, not v1/);
  }
});

s('the vfio_mm is taken when the group attaches to the NESTING backend (at set iommu), not for TYPE1', async () => {
  const l = await freshLedger({ profile: 'v7' });
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  l.request({ op: 'container_open', vm: 'vm1', container: 't1' });
  l.request({ op: 'group_attach', container: 't1', group: 'g1' });
  const t1 = l.request({ op: 'set_iommu', container: 't1', type: 'VFIO_TYPE1_IOMMU' });
  assert.equal(effects(l, t1), ['container SET_IOMMU'], 'TYPE1: no vfio_mm in v7');
  l.request({ op: 'container_open', vm: 'vm1', container: 'n1' });
  const a = l.request({ op: 'group_attach', container: 'n1', group: 'g2' });
  assert.equal(effects(l, a), ['group SET_CONTAINER'], 'attaching to a container without a driver takes nothing');
  const n = l.request({ op: 'set_iommu', container: 'n1', type: NESTING });
  assert.is(n.ret, 0);
  assert.equal(effects(l, n), ['container SET_IOMMU', 'vfio_mm CREATE']);
  const create = transitionsOf(l, n)[1]!;
  assert.is(create.mm, 'm1');
  assert.is(create.quota, 1000, 'the pasid_quota of the time');
  assert.equal(l.view().containers.map((c) => c.vfio_mm), [null, 1]);
});

s('a second NESTING container of the same vm shares its vfio_mm; the last group leaving puts it', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l, 'vm1', 'm1', 'n1', 'g1');
  l.request({ op: 'container_open', vm: 'vm1', container: 'n2' });
  l.request({ op: 'group_attach', container: 'n2', group: 'g2' });
  const get = l.request({ op: 'set_iommu', container: 'n2', type: NESTING });
  assert.equal(effects(l, get), ['container SET_IOMMU', 'vfio_mm GET']);
  assert.is(l.view().vfio_mms[0]!.refs, 2);
  l.request({ op: 'pasid_alloc', container: 'n1', min: 1, max: 9 });
  assert.is(l.request({ op: 'pasid_alloc', container: 'n2', min: 1, max: 9 }).ret, 2, 'one account, one namespace');
  const d1 = l.request({ op: 'group_detach', container: 'n1', group: 'g1' });
  assert.equal(effects(l, d1), ['group UNSET_CONTAINER', 'container LAST_GROUP_DETACH', 'vfio_mm PUT']);
  const end = l.request({ op: 'vm_exit', vm: 'vm1' });
  assert.equal(effects(l, end), [
    'container CLOSE', // n1, already deprivileged
    'group UNSET_CONTAINER', 'container LAST_GROUP_DETACH', 'pasid FREE 1', 'pasid FREE 2', 'vfio_mm RELEASE',
    'container CLOSE', 'vm VM_EXIT',
  ]);
  assert.is(l.capacityAvail, 1 << 20, 'all reclaimed');
});

s('a NESTING container takes one group only: a second attach is -EINVAL', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  const second = l.request({ op: 'group_attach', container: 'c1', group: 'g2' });
  assert.is(second.ret, -u.EINVAL);
  assert.is(second.reason, 'nesting_one_group');
  assert.equal(transitionsOf(l, second), []);
  assert.equal(l.view().containers[0]!.groups, ['g1']);
  // TYPE1 containers take many groups, as in v1
  setupVm(l, 'vm2', 'm2', 'c2', 'g3', 'VFIO_TYPE1v2_IOMMU');
  assert.is(l.request({ op: 'group_attach', container: 'c2', group: 'g4' }).ret, 0);
});

s('set iommu NESTING on a container holding two groups fails -EINVAL and changes nothing', async () => {
  const l = await freshLedger({ profile: 'v7' });
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g2' });
  const o = l.request({ op: 'set_iommu', container: 'c1', type: NESTING });
  assert.is(o.ret, -u.EINVAL);
  assert.is(o.reason, 'nesting_one_group');
  assert.equal(transitionsOf(l, o), []);
  assert.is(l.view().containers[0]!.state, 'unset');
  assert.is(l.view().vfio_mms.length, 0, 'the first group took a vfio_mm and gave it back: no trace');
  assert.is(l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1v2_IOMMU' }).ret, 0, 'TYPE1v2 takes both');
});

s('a vfio_mm that cannot be created fails the attach with -ENOSPC and nothing changes', async () => {
  const l = await freshLedger({ profile: 'v7', capacity: 1500 });
  setupVm(l, 'vm1', 'm1', 'c1', 'g1');
  l.request({ op: 'vm_start', vm: 'vm2', mm: 'm2' });
  l.request({ op: 'container_open', vm: 'vm2', container: 'c2' });
  l.request({ op: 'group_attach', container: 'c2', group: 'g2' });
  const o = l.request({ op: 'set_iommu', container: 'c2', type: NESTING });
  assert.is(o.ret, -u.ENOSPC);
  assert.is(o.reason, 'capacity_exhausted');
  assert.equal(transitionsOf(l, o), []);
  const c2 = l.view().containers.find((c) => c.container === 'c2')!;
  assert.is(c2.state, 'unset', 'unlike v1, where the ioctl succeeds without a vfio_mm');
  assert.is(l.capacityAvail, 500);
  // after vm1 goes away, the same request succeeds
  l.request({ op: 'vm_exit', vm: 'vm1' });
  assert.is(l.request({ op: 'set_iommu', container: 'c2', type: NESTING }).ret, 0);
});

s('an mdev group (no IOMMU domain) in a NESTING container takes no vfio_mm: PASID requests -EOPNOTSUPP', async () => {
  const l = await freshLedger({ profile: 'v7' });
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'mdev', iommu_backed: false });
  const o = l.request({ op: 'set_iommu', container: 'c1', type: NESTING });
  assert.equal(effects(l, o), ['container SET_IOMMU']);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 }).ret, -u.EOPNOTSUPP);
});

s('pasid_quota is read-only: an admin write is -EPERM, recorded with its actor, and changes nothing', async () => {
  const l = await freshLedger({ profile: 'v7', pasid_quota: 3 });
  setupVm(l);
  const o = l.request({ op: 'set_pasid_quota', value: 10, actor: 'root' });
  assert.is(o.ret, -u.EPERM);
  assert.is(o.reason, 'read_only');
  const e = JSON.parse(l.log.row(o.seq)!.entry);
  assert.equal(e.req, { op: 'set_pasid_quota', value: 10, actor: 'root' });
  assert.equal(transitionsOf(l, o), []);
  assert.is(l.view().pasid_quota, 3);
  for (let i = 0; i < 3; i++) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 }).reason, 'quota_exhausted', 'the quota of its creation holds');
});

s('a request runs under the caller vm; a PASID request on a handed-over fd is charged to the container', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l, 'vm1', 'm1', 'c1', 'g1');
  l.request({ op: 'vm_start', vm: 'vm2', mm: 'm2' });
  const o = l.request({ op: 'pasid_alloc', container: 'c1', vm: 'vm2', min: 1, max: 9 });
  assert.is(o.ret, 1);
  assert.is(l.pasidOwner(1)?.mm, 'm1');
});

s.run();
