import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EBADF, EEXIST, EFAULT, EINVAL, ENODEV, EPERM, ESRCH } from '../src/uapi/errno.js';
import type { TransitionEntry } from '../src/model/types.js';
import type { Ledger } from '../src/ledger.js';
import { freshLedger, setupVm } from './helpers.js';

const FULL = { min: 1, max: 0xfffff };

/** The transitions a request caused, as "machine EVENT from->to" lines. */
function caused(l: Ledger, seq: number): string[] {
  const rows = l.db.prepare('SELECT entry FROM entries WHERE cause = ? ORDER BY seq').all(seq) as Array<{ entry: string }>;
  return rows.map((r) => {
    const t = JSON.parse(r.entry) as TransitionEntry;
    const key = t.machine === 'pasid' ? ` ${t.pasid}` : t.machine === 'vfio_mm' ? ` #${t.vfio_mm}` : '';
    return `${t.machine}${key} ${t.event} ${t.from}->${t.to}`;
  });
}

// SEMANTICS section 3: lifecycles of profile v1, each guard in order, each cascade.
const s = suite('v1 lifecycles');

s('vm start; a running vm id again is -EEXIST; exit of an unknown vm is -ESRCH', async () => {
  const l = await freshLedger();
  assert.is(l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }).ret, 0);
  assert.equal(l.request({ op: 'vm_start', vm: 'vm1', mm: '0x2000' }).reason, 'vm_exists');
  assert.is(l.request({ op: 'vm_start', vm: 'vm1', mm: '0x2000' }).ret, -EEXIST);
  assert.is(l.request({ op: 'vm_exit', vm: 'nope' }).ret, -ESRCH);
  l.request({ op: 'vm_exit', vm: 'vm1' });
  assert.is(l.request({ op: 'vm_crash', vm: 'vm1' }).reason, 'vm_not_running');
  l.close();
});

s('container open needs a running vm; ids are unique; ops on a closed or unknown fd are -EBADF', async () => {
  const l = await freshLedger();
  assert.is(l.request({ op: 'container_open', vm: 'ghost', container: 'c1' }).ret, -ESRCH);
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  assert.is(l.request({ op: 'container_open', vm: 'vm1', container: 'c1' }).ret, 0);
  assert.is(l.request({ op: 'container_open', vm: 'vm1', container: 'c1' }).ret, -EEXIST);
  assert.equal(l.view().containers[0]!.state, 'unset');
  assert.is(l.request({ op: 'group_attach', container: 'zz', group: 'g1' }).ret, -EBADF);
  l.request({ op: 'container_close', container: 'c1' });
  const o = l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  assert.equal([o.ret, o.reason], [-EBADF, 'container_closed']);
  l.close();
});

s('group set container: a group in a container is -EINVAL; a no-IOMMU group beside real ones is -EPERM', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c2' });
  assert.is(l.request({ op: 'group_attach', container: 'c1', group: 'g1' }).ret, 0);
  const busy = l.request({ op: 'group_attach', container: 'c2', group: 'g1' });
  assert.equal([busy.ret, busy.reason], [-EINVAL, 'group_busy']);
  assert.is(l.request({ op: 'group_attach', container: 'c1', group: 'g1' }).ret, -EINVAL, 'the same container too');
  const mix = l.request({ op: 'group_attach', container: 'c1', group: 'n1', noiommu: true });
  assert.equal([mix.ret, mix.reason], [-EPERM, 'noiommu_mix']);
  l.close();
});

s('set iommu: no group or already set is -EINVAL (in that order of the kernel), unknown type -ENODEV', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  const none = l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_IOMMU' });
  assert.equal([none.ret, none.reason], [-EINVAL, 'no_groups']);
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  assert.equal(l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_BOGUS' }).ret, -ENODEV);
  assert.is(l.request({ op: 'set_iommu', container: 'c1', type: 3 }).ret, 0, 'numeric VFIO_TYPE1v2_IOMMU');
  const again = l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_IOMMU' });
  assert.equal([again.ret, again.reason], [-EINVAL, 'iommu_already_set']);
  l.close();
});

s('set iommu takes the vfio_mm of the calling vm; containers of one vm share it; refs count iommu-set containers', async () => {
  const l = await freshLedger();
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  l.request({ op: 'container_open', vm: 'vm1', container: 'c2' });
  l.request({ op: 'group_attach', container: 'c2', group: 'g2' });
  const o = l.request({ op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_IOMMU' });
  assert.equal(caused(l, o.seq), ['container SET_IOMMU unset->iommu_set', 'vfio_mm #1 GET live->live']);
  const m = l.view().vfio_mms;
  assert.is(m.length, 1);
  assert.equal([m[0]!.mm, m[0]!.refs, m[0]!.quota], ['0x1000', 2, 1000]);
  // Requests through either container are charged to the one account.
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  l.request({ op: 'pasid_alloc', container: 'c2', ...FULL });
  assert.equal(l.view().vfio_mms[0]!.pasids, [1, 2]);
  l.close();
});

s('an fd handed to another process: set iommu charges the caller, and the container keeps that vfio_mm', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  l.request({ op: 'vm_start', vm: 'vm2', mm: '0x2000' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_NESTING_IOMMU', vm: 'vm2' });
  assert.is(l.view().vfio_mms[0]!.mm, '0x2000');
  const a = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.equal(l.pasidOwner(a.pasid!), { vfio_mm: 1, mm: '0x2000' }, 'charged to vm2 even when vm1 asks');
  const byVm2 = l.request({ op: 'pasid_alloc', container: 'c1', vm: 'vm2', ...FULL });
  assert.is(byVm2.ret, 0);
  const row = JSON.parse((l.db.prepare('SELECT entry FROM entries WHERE seq = ?').get(byVm2.seq) as { entry: string }).entry);
  assert.is(row.vm, 'vm2', 'the request records its caller');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', vm: 'ghost', ...FULL }).ret, -ESRCH);
  l.close();
});

s('group unset: not in this container -EINVAL; the last group deprivileges the container and puts the vfio_mm', async () => {
  const l = await freshLedger();
  setupVm(l);
  l.request({ op: 'group_attach', container: 'c1', group: 'g2' });
  assert.is(l.request({ op: 'group_detach', container: 'c1', group: 'g9' }).ret, -EINVAL);
  const first = l.request({ op: 'group_detach', container: 'c1', group: 'g1' });
  assert.equal(caused(l, first.seq), ['group UNSET_CONTAINER attached->detached']);
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  const last = l.request({ op: 'group_detach', container: 'c1', group: 'g2' });
  assert.equal(caused(l, last.seq), [
    'group UNSET_CONTAINER attached->detached',
    'container LAST_GROUP_DETACH iommu_set->unset',
    'pasid 1 FREE allocated->free',
    'pasid 2 FREE allocated->free',
    'vfio_mm #1 RELEASE live->released',
  ]);
  const c = l.view().containers[0]!;
  assert.equal([c.state, c.iommu_type, c.vfio_mm], ['unset', null, null]);
  assert.is(l.view().vfio_mms.length, 0);
  assert.is(l.capacityAvail, 1 << 20, 'the quota went back to capacity');
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.equal([o.ret, o.reason], [-EINVAL, 'no_iommu']);
  l.close();
});

s('vfio_mm ref reaching 0 releases it; a later get for the same mm creates a NEW vfio_mm', async () => {
  const l = await freshLedger();
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  l.request({ op: 'group_detach', container: 'c1', group: 'g1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_IOMMU' });
  const m = l.view().vfio_mms;
  assert.equal([m[0]!.vfio_mm, m[0]!.gen, m[0]!.mm, m[0]!.held], [2, 2, '0x1000', 0]);
  l.close();
});

s('container close: groups detach in order, the put cascade, then closed', async () => {
  const l = await freshLedger();
  setupVm(l);
  l.request({ op: 'group_attach', container: 'c1', group: 'g2' });
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  const o = l.request({ op: 'container_close', container: 'c1' });
  assert.equal(caused(l, o.seq), [
    'group UNSET_CONTAINER attached->detached',
    'group UNSET_CONTAINER attached->detached',
    'container LAST_GROUP_DETACH iommu_set->unset',
    'pasid 1 FREE allocated->free',
    'vfio_mm #1 RELEASE live->released',
    'container CLOSE unset->closed',
  ]);
  assert.is(l.request({ op: 'container_close', container: 'c1' }).ret, -EBADF);
  l.close();
});

s('vm exit or crash closes all its containers; nothing it held stays allocated; shared vfio_mm released once', async () => {
  for (const op of ['vm_exit', 'vm_crash'] as const) {
    const l = await freshLedger();
    setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
    l.request({ op: 'container_open', vm: 'vm1', container: 'c2' });
    l.request({ op: 'group_attach', container: 'c2', group: 'g2' });
    l.request({ op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_IOMMU' });
    setupVm(l, 'vm2', '0x2000', 'c3', 'g3');
    for (const c of ['c1', 'c2', 'c1']) l.request({ op: 'pasid_alloc', container: c, ...FULL });
    const keep = l.request({ op: 'pasid_alloc', container: 'c3', ...FULL }).pasid!;
    const o = l.request({ op, vm: 'vm1' });
    assert.equal(caused(l, o.seq), [
      'group UNSET_CONTAINER attached->detached',
      'container LAST_GROUP_DETACH iommu_set->unset',
      'vfio_mm #1 PUT live->live',
      'container CLOSE unset->closed',
      'group UNSET_CONTAINER attached->detached',
      'container LAST_GROUP_DETACH iommu_set->unset',
      'pasid 1 FREE allocated->free',
      'pasid 2 FREE allocated->free',
      'pasid 3 FREE allocated->free',
      'vfio_mm #1 RELEASE live->released',
      'container CLOSE unset->closed',
      `vm ${op === 'vm_exit' ? 'VM_EXIT running->exited' : 'VM_CRASH running->crashed'}`,
    ], op);
    const v = l.view();
    assert.equal(v.vfio_mms.map((m) => m.mm), ['0x2000']);
    assert.equal(v.vfio_mms[0]!.pasids, [keep]);
    assert.is(v.vms.find((x) => x.vm === 'vm1')!.state, op === 'vm_exit' ? 'exited' : 'crashed');
    // Lowest free, reused across VMs: vm2 now gets the ids vm1 had.
    assert.is(l.request({ op: 'pasid_alloc', container: 'c3', ...FULL }).pasid, 1);
    l.close();
  }
});

s('a vm whose mm token is reused by a later process shares the live vfio_mm (fd handed over, opener gone)', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  l.request({ op: 'vm_start', vm: 'vm2', mm: '0x2000' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_IOMMU', vm: 'vm2' });
  l.request({ op: 'vm_exit', vm: 'vm2' });
  assert.is(l.view().vfio_mms.length, 1, "vm2's vfio_mm lives on in vm1's container");
  setupVm(l, 'vm3', '0x2000', 'c3', 'g3');
  const m = l.view().vfio_mms;
  assert.equal([m.length, m[0]!.refs], [1, 2], 'the new process with the reused token gets the same vfio_mm');
  l.close();
});

s('lowest-free order with reuse across vms', async () => {
  const l = await freshLedger();
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  const got = ['c1', 'c2', 'c1', 'c2'].map((c) => l.request({ op: 'pasid_alloc', container: c, ...FULL }).pasid);
  assert.equal(got, [1, 2, 3, 4]);
  l.request({ op: 'pasid_free', container: 'c1', pasid: 1 });
  assert.is(l.request({ op: 'pasid_alloc', container: 'c2', ...FULL }).pasid, 1, 'a freed id is eligible for any vm');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 2, max: 10 }).pasid, 5);
  l.close();
});

s('capacity limits how many vms hold a vfio_mm at once', async () => {
  const l = await freshLedger({ capacity: 2500 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  const third = l.request({ op: 'vm_start', vm: 'vm3', mm: '0x3000' });
  assert.is(third.ret, 0);
  l.request({ op: 'container_open', vm: 'vm3', container: 'c3' });
  l.request({ op: 'group_attach', container: 'c3', group: 'g3' });
  const o = l.request({ op: 'set_iommu', container: 'c3', type: 'VFIO_TYPE1_IOMMU' });
  assert.equal([o.ret, o.reason], [0, 'capacity_exhausted'], 'the ioctl succeeds; the reason is recorded');
  assert.is(l.capacityAvail, 500);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c3', ...FULL }).ret, -EFAULT);
  l.request({ op: 'vm_exit', vm: 'vm1' });
  assert.is(l.capacityAvail, 1500);
  l.close();
});

s.run();
