import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ledger } from '../src/ledger.js';
import { decide } from '../src/model/decide.js';
import { evolve } from '../src/model/evolve.js';
import { parseRequest } from '../src/model/request.js';
import { emptyState } from '../src/model/state.js';
import type { Entry, Profile } from '../src/model/types.js';
import * as u from '../src/uapi/index.js';
import { freshLedger, setupVm } from './helpers.js';
import { assertWhole, effects, prng, transitionsOf } from './v7_checks.js';

const NESTING = 'VFIO_TYPE1_NESTING_IOMMU';
const s = suite('vcmd');

/** vm1 with c1 (NESTING, only an mdev group: no IOMMU domain), t1 (TYPE1) and c2 (NESTING): the walk's material. */
function twoNesting(l: Ledger): void {
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'mdev', iommu_backed: false });
  l.request({ op: 'set_iommu', container: 'c1', type: NESTING });
  l.request({ op: 'container_open', vm: 'vm1', container: 't1' });
  l.request({ op: 'group_attach', container: 't1', group: 'gt' });
  l.request({ op: 'set_iommu', container: 't1', type: 'VFIO_TYPE1v2_IOMMU' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c2' });
  l.request({ op: 'group_attach', container: 'c2', group: 'g2' });
  l.request({ op: 'set_iommu', container: 'c2', type: NESTING });
}

for (const profile of ['v1', 'v7'] as Profile[]) {
  s(`${profile}: ALLOC walks the vm's NESTING containers in open order and stops at the first success`, async () => {
    const l = await freshLedger({ profile });
    twoNesting(l);
    const w = l.request({ op: 'vcmd_write', vm: 'vm1', value: u.VTD_VCMD_ALLOC_PASID });
    assert.is(w.ret, 0);
    assert.is(w.pasid, 1);
    assert.is(w.value, 0x100, 'status 0, PASID << 8');
    assert.equal(effects(l, w), ['viommu VCMD_START', 'pasid ALLOC 1', 'viommu VCMD_DONE']);
    const done = transitionsOf(l, w)[2]!;
    const firstFail = profile === 'v1' ? { ret: -u.EFAULT, reason: 'no_domain' } : { ret: -u.EOPNOTSUPP, reason: 'no_vfio_mm' };
    assert.equal(done.tries, [
      { container: 'c1', ...firstFail },
      { container: 'c2', ret: profile === 'v1' ? 0 : 1, pasid: 1 },
    ], 'the TYPE1 container is not asked; each try keeps its errno');
    assert.is(transitionsOf(l, w)[1]!.container, 'c2');
    assert.is(transitionsOf(l, w)[1]!.cause, w.seq, 'the PASID ALLOC is caused by the guest write');
    const r = l.request({ op: 'vcmd_read', vm: 'vm1' });
    assert.is(r.ret, 0);
    assert.is(r.value, 0x100);
    assert.equal(transitionsOf(l, r), [], 'a read changes nothing');
    assert.is(JSON.parse(l.log.row(r.seq)!.entry).value, 0x100, 'what the guest saw is in the log');
    assert.is(u.decodeVcrsp(r.value!)!.result, 1);
  });

  s(`${profile}: ALLOC with every try failing, or no container at all, is status 2`, async () => {
    const l = await freshLedger({ profile, pasid_quota: 1 });
    setupVm(l);
    l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
    const w = l.request({ op: 'vcmd_write', vm: 'vm1', value: 1 });
    assert.is(w.ret, 0);
    assert.is(w.reason, 'no_pasid_available');
    assert.is(w.pasid, null);
    assert.is(w.value, u.encodeVcrsp({ ip: false, status: u.VTD_VCMD_NO_AVAILABLE_PASID, result: 0 }));
    assert.is(w.value, 4);
    const done = transitionsOf(l, w).at(-1)!;
    assert.equal(done.tries, [{ container: 'c1', ret: profile === 'v1' ? -u.EFAULT : -u.ENOSPC, reason: 'quota_exhausted' }]);
    l.request({ op: 'vm_start', vm: 'lonely', mm: 'm9' });
    const none = l.request({ op: 'vcmd_write', vm: 'lonely', value: 1 });
    assert.is(none.value, 4);
    assert.equal(transitionsOf(l, none).at(-1)!.tries, []);
  });

  s(`${profile}: FREE of (value >> 8) & 0xFFFFF walks the same way: status 0, or 2`, async () => {
    const l = await freshLedger({ profile });
    twoNesting(l);
    l.request({ op: 'vcmd_write', vm: 'vm1', value: 1 });
    l.request({ op: 'vcmd_write', vm: 'vm1', value: 1 });
    const f = l.request({ op: 'vcmd_write', vm: 'vm1', value: 0xf * 2 ** 28 + (1 << 8) + u.VTD_VCMD_FREE_PASID });
    assert.is(f.pasid, 1, 'bits above 27 are not part of the operand');
    assert.is(f.value, 0);
    assert.equal(effects(l, f), ['viommu VCMD_START', 'pasid FREE 1', 'viommu VCMD_DONE']);
    assert.equal(l.view().vfio_mms[0]!.pasids, [2]);
    const bad = l.request({ op: 'vcmd_write', vm: 'vm1', value: (77 << 8) | 2 });
    if (profile === 'v1') {
      assert.is(bad.value, 4, 'status 2: invalid PASID');
      assert.is(bad.reason, 'invalid_pasid');
      assert.equal(transitionsOf(l, bad).at(-1)!.tries, [
        { container: 'c1', ret: -u.EFAULT, reason: 'no_domain' },
        { container: 'c2', ret: -u.ENOENT, reason: 'not_allocated', pasid: 77 },
      ]);
    } else {
      // v7's range FREE returns 0 whatever it finds: the guest is told the free succeeded (quirk of the walk)
      assert.is(bad.value, 0);
      assert.is(bad.reason, 'none_owned');
    }
  });
}

s('any command other than ALLOC and FREE is status 1, and changes only the registers', async () => {
  const l = await freshLedger();
  setupVm(l);
  for (const cmd of [0, 3, 0xff, 0x1234500]) {
    const w = l.request({ op: 'vcmd_write', vm: 'vm1', value: cmd });
    assert.is(w.reason, 'undefined_command', String(cmd));
    assert.is(w.value, 2);
    assert.equal(effects(l, w), ['viommu VCMD_START', 'viommu VCMD_DONE']);
  }
  assert.is(l.view().vfio_mms[0]!.held, 0);
});

s('a write while VCCAP lacks PAS is dropped: logged, nothing changes', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1', vccap: 0 });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  l.request({ op: 'set_iommu', container: 'c1', type: NESTING });
  const w = l.request({ op: 'vcmd_write', vm: 'vm1', value: 1 });
  assert.is(w.ret, 0);
  assert.is(w.reason, 'dropped_no_pas');
  assert.is(w.value, 0);
  assert.equal(transitionsOf(l, w), []);
  assert.is(l.view().vfio_mms[0]!.held, 0);
  assert.equal(l.view().viommus, [{ vm: 'vm1', vccap: 0, vcrsp: 0, state: 'ready' }]);
  assert.is(JSON.parse(l.log.row(w.seq)!.entry).reason, 'dropped_no_pas');
  // VCCAP is the process's: a restart with the default gets PAS back, and fresh registers
  l.request({ op: 'vm_exit', vm: 'vm1' });
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  assert.equal(l.view().viommus, [{ vm: 'vm1', vccap: 1, vcrsp: 0, state: 'ready' }]);
});

s('a write while a command is in progress is dropped: the state between VCMD_START and VCMD_DONE', async () => {
  const l = await freshLedger();
  setupVm(l);
  const w = l.request({ op: 'vcmd_write', vm: 'vm1', value: 1 });
  const start = transitionsOf(l, w)[0]!;
  assert.is(start.event, 'VCMD_START');
  // Replay to the position right after VCMD_START: QEMU holds the lock there, the guest cannot
  // write, but the state is a real position of the log and says what a write would meet.
  const st = emptyState(l.config);
  for (const row of l.log.range(0, start.seq)) evolve(st, JSON.parse(row.entry) as Entry);
  assert.is(st.vms.get('vm1')!.viommu, 'in_progress');
  assert.is(st.vms.get('vm1')!.vcrsp, u.VTD_VCRSP_IP);
  const d = decide(st, parseRequest({ op: 'vcmd_write', vm: 'vm1', value: 1 }));
  assert.is(d.ret, 0);
  assert.is(d.reason, 'dropped_in_progress');
  assert.equal(d.transitions, []);
  assert.is(decide(st, parseRequest({ op: 'vcmd_read', vm: 'vm1' })).value, 1, 'the guest would read IP set');
  assert.equal(l.view().viommus[0], { vm: 'vm1', vccap: 1, vcrsp: 0x100, state: 'ready' }, 'after the write: done');
});

s('v1: a lazy quota adjust in a failed try happens once, though the next container shares the vfio_mm', async () => {
  const l = await freshLedger({ pasid_quota: 2 });
  setupVm(l, 'vm1', 'm1', 'c1', 'g1');
  l.request({ op: 'container_open', vm: 'vm1', container: 'c2' });
  l.request({ op: 'group_attach', container: 'c2', group: 'g2' });
  l.request({ op: 'set_iommu', container: 'c2', type: NESTING });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  l.request({ op: 'set_pasid_quota', value: 1, actor: 'admin' });
  const w = l.request({ op: 'vcmd_write', vm: 'vm1', value: 1 });
  assert.equal(effects(l, w), ['viommu VCMD_START', 'vfio_mm QUOTA_ADJUST', 'viommu VCMD_DONE']);
  assert.equal(transitionsOf(l, w).at(-1)!.tries, [
    { container: 'c1', ret: -u.EFAULT, reason: 'quota_exhausted' },
    { container: 'c2', ret: -u.EFAULT, reason: 'quota_exhausted' },
  ]);
  assert.is(w.value, 4);
});

s('a vm that is not running issues no MMIO: -ESRCH', async () => {
  const l = await freshLedger();
  assert.is(l.request({ op: 'vcmd_write', vm: 'ghost', value: 1 }).ret, -u.ESRCH);
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  l.request({ op: 'vm_crash', vm: 'vm1' });
  const r = l.request({ op: 'vcmd_read', vm: 'vm1' });
  assert.is(r.ret, -u.ESRCH);
  assert.is(r.reason, 'vm_not_running');
});

s('request files: vcmd_write takes a 64-bit register value exact in JSON; vm_start a u32 vccap', () => {
  assert.equal(parseRequest({ op: 'vcmd_write', vm: 'vm1', value: 2 ** 53 - 1 }).op, 'vcmd_write');
  assert.throws(() => parseRequest({ op: 'vcmd_write', vm: 'vm1', value: 2 ** 53 }), /2\^53-1/);
  assert.throws(() => parseRequest({ op: 'vcmd_write', vm: 'vm1', value: -1 }), /vcmd_write: "value"/);
  assert.throws(() => parseRequest({ op: 'vcmd_write', vm: 'vm1', value: '1' }), /vcmd_write: "value"/);
  assert.throws(() => parseRequest({ op: 'vcmd_write', vm: 'vm1' }), /missing "value"/);
  assert.throws(() => parseRequest({ op: 'vcmd_read', vm: 'vm1', value: 1 }), /unknown field "value"/);
  assert.throws(() => parseRequest({ op: 'vcmd_read', vm: 'vm1', container: 'c1' }), /unknown field "container"/);
  assert.throws(() => parseRequest({ op: 'vm_start', vm: 'vm1', mm: 'm', vccap: 1.5 }), /vccap/);
});

s('random VCMD values and VCCAPs: a status, never a crash, never a partial entry', async () => {
  const rnd = prng(0x5eed);
  for (const profile of ['v1', 'v7'] as Profile[]) {
    const l = await freshLedger({ profile, pasid_quota: 20 });
    twoNesting(l);
    for (let i = 0; i < 300; i++) {
      const pick = rnd();
      const value = pick < 0.3 ? 1 : pick < 0.6 ? (Math.floor(rnd() * 32) << 8) | 2 : Math.floor(rnd() * 2 ** 53);
      const before = l.head().seq;
      const w = l.request({ op: 'vcmd_write', vm: 'vm1', value });
      assertWhole(l, before, w);
      assert.is(w.ret, 0);
      const rsp = u.decodeVcrsp(w.value!)!;
      assert.ok(rsp.status <= 2 && !rsp.ip, `status of ${value}`);
      if (rsp.status === 0 && (value & 0xff) === 1) assert.is(l.pasidOwner(rsp.result)?.mm, 'm1');
    }
    const held = l.view().vfio_mms[0]!.held;
    assert.ok(held > 0 && held <= 20, 'the quota held throughout');
    const r = l.request({ op: 'vm_start', vm: 'v2', mm: 'mx', vccap: Math.floor(rnd() * 0xffffffff) });
    assert.is(r.ret, 0);
    l.close();
  }
});

s.run();
