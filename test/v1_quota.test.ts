import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EFAULT, EINVAL, ENOSPC } from '../src/uapi/errno.js';
import type { AnyTransition } from './support/entries.js';
import { freshLedger, setupVm } from './helpers.js';

const FULL = { min: 1, max: 0xfffff };

// SEMANTICS sections 2 and 3: the pasid_quota parameter and v1's lazy adjust.
const s = suite('v1 pasid_quota');

s('admin quota change: a non-negative integer with an actor, recorded as a transition naming the actor', async () => {
  const l = await freshLedger();
  assert.equal([l.request({ op: 'set_pasid_quota', value: -1, actor: 'admin' }).ret, l.request({ op: 'set_pasid_quota', value: 1.5, actor: 'admin' }).reason], [-EINVAL, 'bad_value']);
  assert.is(l.request({ op: 'set_pasid_quota', value: 10 }).reason, 'no_actor');
  const o = l.request({ op: 'set_pasid_quota', value: 1200, actor: 'ops@example' });
  assert.is(o.ret, 0);
  const t = JSON.parse((l.db.prepare('SELECT entry FROM entries WHERE cause = ?').get(o.seq) as { entry: string }).entry) as AnyTransition;
  assert.equal([t.machine, t.old, t.value, t.actor], ['module_param', 1000, 1200, 'ops@example']);
  assert.is(l.view().pasid_quota, 1200);
  l.close();
});

s('new vfio_mms take the current quota; live ones adjust lazily at their next ALLOC', async () => {
  const l = await freshLedger({ pasid_quota: 2 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).reason, 'quota_exhausted');
  l.request({ op: 'set_pasid_quota', value: 4, actor: 'admin' });
  assert.is(l.view().vfio_mms[0]!.quota, 2, 'nothing changes until the next ALLOC');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  assert.is(l.view().vfio_mms[1]!.quota, 4, 'a new vfio_mm takes the current value');
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.is(o.ret, 0);
  const m = l.view().vfio_mms[0]!;
  assert.equal([m.quota, m.set_quota, m.held], [4, 4, 3]);
  assert.is(l.capacityAvail, (1 << 20) - 8, 'the adjust moved capacity by the difference');
  l.close();
});

s('lazy adjust below the ids held fails -EINVAL: the vfio_mm records the new quota, the set keeps the old limit, no retry', async () => {
  const l = await freshLedger({ pasid_quota: 3 });
  setupVm(l);
  for (let i = 0; i < 3; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  l.request({ op: 'set_pasid_quota', value: 1, actor: 'admin' });
  l.request({ op: 'pasid_free', container: 'c1', pasid: 3 });
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.is(o.ret, 0, 'the ALLOC itself goes on under the old limit');
  const adj = JSON.parse((l.db.prepare("SELECT entry FROM entries WHERE cause = ? AND machine = 'vfio_mm'").get(o.seq) as { entry: string }).entry);
  assert.equal([adj.event, adj.ret, adj.quota, adj.set_quota], ['QUOTA_ADJUST', -EINVAL, 1, 3]);
  const m = l.view().vfio_mms[0]!;
  assert.equal([m.quota, m.set_quota, m.held], [1, 3, 3]);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).reason, 'quota_exhausted');
  const later = l.request({ op: 'pasid_free', container: 'c1', pasid: 1 });
  assert.is(later.ret, 0);
  const again = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.is(again.ret, 0, 'still the old limit of 3: the failed adjust is not retried');
  assert.is((l.db.prepare("SELECT count(*) AS n FROM entries WHERE cause = ? AND machine = 'vfio_mm'").get(again.seq) as { n: number }).n, 0);
  l.close();
});

s('lazy adjust compares the absolute new quota with capacity_avail (quirk): -ENOSPC although the delta fits', async () => {
  const l = await freshLedger({ pasid_quota: 1000, capacity: 2200 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  assert.is(l.capacityAvail, 200);
  l.request({ op: 'set_pasid_quota', value: 1100, actor: 'admin' });
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.is(o.ret, 0);
  const adj = JSON.parse((l.db.prepare("SELECT entry FROM entries WHERE cause = ? AND machine = 'vfio_mm'").get(o.seq) as { entry: string }).entry);
  assert.equal([adj.ret, adj.set_quota], [-ENOSPC, 1000], '1100 >= 200 fails though only 100 more were needed');
  assert.is(l.capacityAvail, 200);
  l.close();
});

s('the quota counts what the set holds, including PASIDs freed by others never', async () => {
  const l = await freshLedger({ pasid_quota: 1 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).pasid, 1);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c2', ...FULL }).pasid, 2);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c2', ...FULL }).ret, -EFAULT);
  assert.is(l.request({ op: 'pasid_free', container: 'c2', pasid: 1 }).reason, 'not_owner');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).reason, 'quota_exhausted');
  l.close();
});

s.run();
