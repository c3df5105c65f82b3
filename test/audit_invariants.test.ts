import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ledger } from '../src/ledger.js';
import { auditJson, cli, Crafter, firstBreaks, realLog } from './audit_craft.js';
import { setupVm } from './helpers.js';

/**
 * Each test writes a real log with the ledger, then appends entries below it (with a
 * correct hash chain) that break one invariant, and shows that `audit` names that
 * invariant at the right seq and exits 1.
 */
const s = suite('audit: crafted logs breaking each invariant');

const ALL = { min: 1, max: 0xfffff };

/** vm1 (mm 0x1000, container c1, vfio_mm #1) and vm2 (mm 0x2000, container c2, vfio_mm #2). */
function twoVms(l: Ledger): void {
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
}

function allocs(l: Ledger, container: string, n: number): number[] {
  return Array.from({ length: n }, () => {
    const o = l.request({ op: 'pasid_alloc', container, ...ALL });
    assert.is(o.ret, 0);
    return o.pasid!;
  });
}

/** Audits through the CLI, expects exit 1 and `id` first broken at `seq`; returns the report. */
function expectBreak(path: string, id: string, seq: number) {
  const { status, report } = auditJson(path);
  assert.is(status, 1, 'audit exits 1 when an invariant is broken');
  assert.is(report.ok, false);
  const inv = report.invariants.find((i) => i.id === id)!;
  assert.is(inv.holds, false, `invariant ${id} is reported broken`);
  assert.is(inv.first!.seq, seq, `invariant ${id}: ${inv.first!.detail}`);
  assert.ok(inv.first!.detail.length > 10);
  return report;
}

s('the untouched base log passes', async () => {
  const path = await realLog({ pasid_quota: 3 }, (l) => { twoVms(l); allocs(l, 'c1', 2); });
  const { status, report } = auditJson(path);
  assert.is(status, 0);
  assert.ok(report.ok);
  assert.ok(report.invariants.every((i) => i.holds && i.first === null));
});

s('1 single_owner: a PASID allocated to a second vfio_mm while held', async () => {
  const path = await realLog({}, (l) => { twoVms(l); assert.equal(allocs(l, 'c1', 1), [1]); });
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c2', ...ALL }, { ret: 0, vm: 'vm2', pasid: 1 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 1, vfio_mm: 2, mm: '0x2000', container: 'c2' });
  c.commit();
  const r = expectBreak(path, '1', bad);
  assert.match(r.invariants.find((i) => i.id === '1')!.first!.detail, /already held by vfio_mm #1/);
});

s("2 within_quota: a vfio_mm holds more than its set's quota", async () => {
  const path = await realLog({ pasid_quota: 2 }, (l) => { twoVms(l); assert.equal(allocs(l, 'c1', 2), [1, 2]); });
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c1', ...ALL }, { ret: 0, vm: 'vm1', pasid: 3 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 3, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
  const r = expectBreak(path, '2', bad);
  // The third id is the lowest free one and goes to a live vfio_mm: only the quota is broken.
  assert.equal(Object.entries(firstBreaks(r)).filter(([, v]) => v !== null).map(([k]) => k), ['2', 'S6'], 'and S6: the model would have refused it');
});

s('3 capacity_balance: a vfio_mm created with more quota than capacity_avail', async () => {
  const path = await realLog({ pasid_quota: 2, capacity: 4 }, twoVms);
  const c = await Crafter.open(path);
  c.request('vm_start', { vm: 'vm3', mm: '0x3000' }, { ret: 0, vm: 'vm3' });
  c.transition({ machine: 'vm', event: 'VM_START', from: 'none', to: 'running', vm: 'vm3', mm: '0x3000' });
  c.request('container_open', { vm: 'vm3', container: 'c3' }, { ret: 0, vm: 'vm3' });
  c.transition({ machine: 'container', event: 'OPEN', from: 'none', to: 'unset', container: 'c3', vm: 'vm3' });
  c.request('group_attach', { container: 'c3', group: 'g3' }, { ret: 0, vm: 'vm3' });
  c.transition({ machine: 'group', event: 'SET_CONTAINER', from: 'detached', to: 'attached', group: 'g3', container: 'c3', iommu_backed: true, noiommu: false });
  c.request('set_iommu', { container: 'c3', type: 'VFIO_TYPE1_NESTING_IOMMU' }, { ret: 0, vm: 'vm3' });
  c.transition({ machine: 'container', event: 'SET_IOMMU', from: 'unset', to: 'iommu_set', container: 'c3', vm: 'vm3', iommu_type: 'VFIO_TYPE1_NESTING_IOMMU' });
  const bad = c.transition({ machine: 'vfio_mm', event: 'CREATE', from: 'none', to: 'live', vfio_mm: 3, mm: '0x3000', gen: 1, container: 'c3', refs: 1, quota: 2, set_quota: 2 });
  c.commit();
  const r = expectBreak(path, '3', bad);
  assert.match(r.invariants.find((i) => i.id === '3')!.first!.detail, /capacity_avail would be -2/);
  assert.equal(Object.entries(firstBreaks(r)).filter(([, v]) => v !== null).map(([k]) => k), ['3', 'S6'], 'and S6: the model decides otherwise');
});

s('3 capacity_balance: a release that gives back another amount than the set reserved', async () => {
  const path = await realLog({ pasid_quota: 2 }, twoVms);
  const c = await Crafter.open(path);
  c.request('group_detach', { container: 'c2', group: 'g2' }, { ret: 0, vm: 'vm2' });
  c.transition({ machine: 'group', event: 'UNSET_CONTAINER', from: 'attached', to: 'detached', group: 'g2', container: 'c2' });
  c.transition({ machine: 'container', event: 'LAST_GROUP_DETACH', from: 'iommu_set', to: 'unset', container: 'c2', vm: 'vm2' });
  const bad = c.transition({ machine: 'vfio_mm', event: 'RELEASE', from: 'live', to: 'released', vfio_mm: 2, mm: '0x2000', container: 'c2', refs: 0, freed: 0, set_quota: 5 });
  c.commit();
  expectBreak(path, '3', bad);
});

s('4 reclaimed_at_release: a vfio_mm released with PASIDs still allocated', async () => {
  const path = await realLog({}, (l) => { twoVms(l); allocs(l, 'c1', 2); });
  const c = await Crafter.open(path);
  c.request('group_detach', { container: 'c1', group: 'g1' }, { ret: 0, vm: 'vm1' });
  c.transition({ machine: 'group', event: 'UNSET_CONTAINER', from: 'attached', to: 'detached', group: 'g1', container: 'c1' });
  c.transition({ machine: 'container', event: 'LAST_GROUP_DETACH', from: 'iommu_set', to: 'unset', container: 'c1', vm: 'vm1' });
  const bad = c.transition({ machine: 'vfio_mm', event: 'RELEASE', from: 'live', to: 'released', vfio_mm: 1, mm: '0x1000', container: 'c1', refs: 0, freed: 0, set_quota: 1000 });
  c.commit();
  const r = expectBreak(path, '4', bad);
  assert.match(r.invariants.find((i) => i.id === '4')!.first!.detail, /2 of its PASIDs are still allocated: 1, 2/);
});

s("5 free_by_owner: a vm frees another vm's PASID through its own container", async () => {
  const path = await realLog({}, (l) => { twoVms(l); allocs(l, 'c1', 1); });
  const c = await Crafter.open(path);
  c.request('pasid_free', { container: 'c2', pasid: 1 }, { ret: 0, vm: 'vm2', pasid: 1 });
  const bad = c.transition({ machine: 'pasid', event: 'FREE', from: 'allocated', to: 'free', pasid: 1, vfio_mm: 1, mm: '0x1000', container: 'c2' });
  c.commit();
  const r = expectBreak(path, '5', bad);
  assert.match(r.invariants.find((i) => i.id === '5')!.first!.detail, /vm2 on container c2.*held by vfio_mm #1/);
  // The FREE names the real owner, so the transition itself is coherent: only ownership is broken.
  assert.is(firstBreaks(r).S2, null);
});

s('5 free_by_owner: a teardown that frees a PASID without releasing its vfio_mm', async () => {
  const path = await realLog({}, (l) => {
    twoVms(l);
    l.request({ op: 'group_attach', container: 'c1', group: 'g9' });
    allocs(l, 'c1', 2);
  });
  const c = await Crafter.open(path);
  // Detaching one of two groups releases nothing, so it may free nothing.
  c.request('group_detach', { container: 'c1', group: 'g9' }, { ret: 0, vm: 'vm1' });
  c.transition({ machine: 'group', event: 'UNSET_CONTAINER', from: 'attached', to: 'detached', group: 'g9', container: 'c1' });
  const bad = c.transition({ machine: 'pasid', event: 'FREE', from: 'allocated', to: 'free', pasid: 2, vfio_mm: 1, mm: '0x1000' });
  c.commit();
  expectBreak(path, '5', bad);
});

s('6 pasid_in_range: PASID 0 held without the pasid_zero quirk', async () => {
  const path = await realLog({}, twoVms);
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c1', min: 0, max: 0xfffff }, { ret: 0, vm: 'vm1', pasid: 0 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 0, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
  const r = expectBreak(path, '6', bad);
  assert.is(firstBreaks(r)['7'], null, '0 was the lowest free id of [0, 0xfffff]');
  assert.is(r.quirks.counts.pasid_zero, 0);
});

s('6 pasid_in_range: a PASID above the 20-bit width handed out for a request within it', async () => {
  const path = await realLog({}, twoVms);
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c1', ...ALL }, { ret: 0, vm: 'vm1', pasid: 0x100000 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 0x100000, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
  const r = expectBreak(path, '6', bad);
  assert.is(firstBreaks(r)['7'], bad, 'and it was not the lowest free id of the range either');
  assert.is(r.quirks.counts.pasid_above_width, 0);
});

s('7 lowest_free: an ALLOC that skips the lowest free id', async () => {
  const path = await realLog({}, (l) => { twoVms(l); allocs(l, 'c1', 1); });
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c2', ...ALL }, { ret: 0, vm: 'vm2', pasid: 5 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 5, vfio_mm: 2, mm: '0x2000', container: 'c2' });
  c.commit();
  const r = expectBreak(path, '7', bad);
  assert.match(r.invariants.find((i) => i.id === '7')!.first!.detail, /lowest free id there was 2/);
  assert.equal(Object.entries(firstBreaks(r)).filter(([, v]) => v !== null).map(([k]) => k), ['7', 'S6'], 'and S6: the model hands out the lowest');
});

s('7 lowest_free: a raw v1 struct decoded for its range', async () => {
  const path = await realLog({}, twoVms);
  const c = await Crafter.open(path);
  // argsz 20, flags ALLOC, min 10, max 20: the lowest free id is 10, the log says 11.
  const hex = Buffer.from(new Uint32Array([20, 1, 10, 20, 0]).buffer).toString('hex');
  c.request('pasid_request', { container: 'c1', hex }, { ret: 0, vm: 'vm1', pasid: 11 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 11, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
  const r = expectBreak(path, '7', bad);
  assert.match(r.invariants.find((i) => i.id === '7')!.first!.detail, /\[10, 20\].*lowest free id there was 10/);
});

s("7 lowest_free: a guest's virtual ALLOC command asks for [1, 0xFFFFF]", async () => {
  const path = await realLog({}, (l) => { twoVms(l); allocs(l, 'c1', 2); });
  const c = await Crafter.open(path);
  c.request('vcmd_write', { vm: 'vm2', value: 1 }, { ret: 0, vm: 'vm2', pasid: 4 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 4, vfio_mm: 2, mm: '0x2000', container: 'c2' });
  c.commit();
  const r = expectBreak(path, '7', bad);
  assert.match(r.invariants.find((i) => i.id === '7')!.first!.detail, /\[1, 1048575\].*lowest free id there was 3/);
});

s('8 quota_change_actor: pasid_quota changed with no actor', async () => {
  const path = await realLog({}, twoVms);
  const c = await Crafter.open(path);
  const bad = c.request('set_pasid_quota', { value: 10 }, { ret: 0 });
  const set = c.transition({ machine: 'module_param', event: 'SET', from: 'writable', to: 'writable', name: 'pasid_quota', old: 1000, value: 10 });
  c.commit();
  const r = expectBreak(path, '8', bad);
  assert.is(r.invariants.find((i) => i.id === '8')!.violations, 2, 'the request and its SET transition');
  assert.ok(set > bad);
});

s('S1 cause_is_request: a transition whose cause is not a request', async () => {
  const path = await realLog({}, twoVms);
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c1', ...ALL }, { ret: 0, vm: 'vm1', pasid: 1 });
  const bad = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 1, vfio_mm: 1, mm: '0x1000', container: 'c1' }, 1);
  c.commit();
  const r = expectBreak(path, 'S1', bad);
  assert.match(r.invariants.find((i) => i.id === 'S1')!.first!.detail, /cause 1 is a config entry/);
});

s("S2 transition_from_state: a FREE of a PASID nobody holds", async () => {
  const path = await realLog({}, twoVms);
  const c = await Crafter.open(path);
  c.request('pasid_free', { container: 'c1', pasid: 7 }, { ret: 0, vm: 'vm1', pasid: 7 });
  const bad = c.transition({ machine: 'pasid', event: 'FREE', from: 'allocated', to: 'free', pasid: 7, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
  const r = expectBreak(path, 'S2', bad);
  assert.match(r.invariants.find((i) => i.id === 'S2')!.first!.detail, /pasid 7 is free/);
});

s('several breaks in one log: each invariant names its own first entry; the text says so too', async () => {
  const path = await realLog({ pasid_quota: 1 }, (l) => { twoVms(l); allocs(l, 'c1', 1); });
  const c = await Crafter.open(path);
  c.request('pasid_alloc', { container: 'c2', ...ALL }, { ret: 0, vm: 'vm2', pasid: 4 });
  const seven = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 4, vfio_mm: 2, mm: '0x2000', container: 'c2' });
  c.request('pasid_alloc', { container: 'c1', ...ALL }, { ret: 0, vm: 'vm1', pasid: 2 });
  const two = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 2, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
  const { report } = auditJson(path);
  assert.is(firstBreaks(report)['7'], seven);
  assert.is(firstBreaks(report)['2'], two);
  const text = cli(['audit', '--db', path]);
  assert.is(text.status, 1);
  assert.match(text.stdout, /3 BROKEN \(2, 7, S6\)/);
  assert.match(text.stdout, new RegExp(`first at seq ${seven - 1}`), "S6 names the request before it: the model decides another outcome");
});

s.run();
