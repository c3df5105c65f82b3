import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRequest, RequestError } from '../src/model/request.js';
import * as u from '../src/uapi/index.js';
import { freshLedger, setupVm } from './helpers.js';
import { effects, transitionsOf } from './v7_checks.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const req7 = (f: u.PasidRequestV7Fields) => hex(u.encodePasidRequestV7(f));
const ALLOC = u.VFIO_IOMMU_FLAG_ALLOC_PASID;
const FREE = u.VFIO_IOMMU_FLAG_FREE_PASID;

const s = suite('v7/pasid_request');

s('ALLOC returns the PASID as the ioctl return value, lowest free first', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  const a = l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  assert.is(a.ret, 1);
  assert.is(a.pasid, 1);
  assert.is(a.reason, null);
  assert.equal(effects(l, a), ['pasid ALLOC 1']);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }).ret, 2);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 10, max: 20 }).ret, 10);
  l.request({ op: 'pasid_free', container: 'c1', pasid: 1 });
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }).ret, 1, 'a freed id is eligible again');
  assert.is(a.hex, undefined, 'v7 writes nothing back into the buffer');
});

s('the raw 16-byte struct, as the kernel copies it', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  const raw = (h: string) => l.request({ op: 'pasid_request', container: 'c1', hex: h });
  assert.is(raw(req7({ flags: ALLOC, min: 7, max: 9 })).ret, 7);
  // min@8 max@12: a byte-for-byte vector written from the C layout
  assert.is(raw('10000000' + '01000000' + '05000000' + '06000000').ret, 5);
  // a longer buffer (a v1 caller's 20 bytes) is read as its first 16
  assert.is(raw(req7({ flags: ALLOC, min: 20, max: 30 }) + '00000000').ret, 20);
  const short = raw(req7({ flags: ALLOC, min: 1, max: 9 }).slice(0, 30));
  assert.is(short.ret, -u.EFAULT);
  assert.is(short.reason, 'short_buffer');
});

s('validation in the kernel order: -EFAULT, then -EINVAL for argsz, flags and range', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  const raw = (h: string) => l.request({ op: 'pasid_request', container: 'c1', hex: h });
  const cases: Array<[string, number, string]> = [
    ['', -u.EFAULT, 'short_buffer'],
    [req7({ flags: ALLOC, min: 1, max: 2, argsz: 15 }), -u.EINVAL, 'bad_argsz'],
    [req7({ flags: ALLOC | 4, min: 1, max: 2 }), -u.EINVAL, 'unknown_flags'],
    [req7({ flags: 8, min: 9, max: 2 }), -u.EINVAL, 'unknown_flags'],
    [req7({ flags: ALLOC, min: 9, max: 2 }), -u.EINVAL, 'bad_range'],
    [req7({ flags: FREE, min: 9, max: 2 }), -u.EINVAL, 'bad_range'],
    [req7({ flags: ALLOC, min: 1, max: 0x80000001 }), -u.EINVAL, 'bad_range'],
    [req7({ flags: ALLOC, min: 0x80000001, max: 0xffffffff }), -u.EINVAL, 'bad_range'],
    [req7({ flags: 0, min: 1, max: 2 }), -u.EINVAL, 'no_flag'],
    [req7({ flags: ALLOC | FREE, min: 1, max: 2 }), -u.EINVAL, 'both_flags'],
  ];
  for (const [h, ret, reason] of cases) {
    const o = raw(h);
    assert.is(o.ret, ret, h);
    assert.is(o.reason, reason, h);
    assert.equal(transitionsOf(l, o), [], 'a refused request changes nothing');
  }
  const edge = raw(req7({ flags: ALLOC, min: 0x80000000, max: 0x80000000 }));
  assert.is.not(edge.reason, 'bad_range', '1 << 31 itself passes the check (unsigned compare with >)');
  assert.is(l.view().vfio_mms[0]!.held, 1);
});

s('no vfio_mm is -EOPNOTSUPP, decided after the buffer checks and before the flag switch', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1', 'VFIO_TYPE1v2_IOMMU');
  const raw = (h: string) => l.request({ op: 'pasid_request', container: 'c1', hex: h });
  assert.is(l.view().containers[0]!.vfio_mm, null, 'TYPE1v2 takes no vfio_mm in v7');
  const a = l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  assert.is(a.ret, -u.EOPNOTSUPP);
  assert.is(a.reason, 'no_vfio_mm');
  assert.is(l.request({ op: 'pasid_free', container: 'c1', min: 1, max: 9 }).ret, -u.EOPNOTSUPP);
  assert.is(raw(req7({ flags: 0, min: 1, max: 2 })).reason, 'no_vfio_mm', 'no flag is only seen with a vfio_mm');
  assert.is(raw(req7({ flags: 3, min: 1, max: 2 })).reason, 'no_vfio_mm');
  assert.is(raw(req7({ flags: ALLOC, min: 3, max: 2 })).reason, 'bad_range', 'the range check comes first');
  assert.is(raw('00').reason, 'short_buffer');
});

s('a container without an IOMMU is -EINVAL from the vfio core; a no-IOMMU one -ENOTTY', async () => {
  const l = await freshLedger({ profile: 'v7' });
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  const o = l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  assert.is(o.ret, -u.EINVAL);
  assert.is(o.reason, 'no_iommu');
  l.request({ op: 'container_open', vm: 'vm1', container: 'c2' });
  l.request({ op: 'group_attach', container: 'c2', group: 'gn', noiommu: true });
  l.request({ op: 'set_iommu', container: 'c2', type: 'VFIO_NOIOMMU_IOMMU' });
  assert.is(l.request({ op: 'pasid_alloc', container: 'c2', min: 1, max: 9 }).ret, -u.ENOTTY);
});

s('quota and range failures are both -ENOSPC, with distinct recorded reasons', async () => {
  const l = await freshLedger({ profile: 'v7', pasid_quota: 2 });
  setupVm(l);
  const r = l.request({ op: 'pasid_alloc', container: 'c1', min: 5, max: 5 });
  assert.is(r.ret, 5);
  const range = l.request({ op: 'pasid_alloc', container: 'c1', min: 5, max: 5 });
  assert.is(range.ret, -u.ENOSPC);
  assert.is(range.reason, 'range_exhausted');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 }).ret, 1);
  const quota = l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  assert.is(quota.ret, -u.ENOSPC);
  assert.is(quota.reason, 'quota_exhausted');
  assert.equal(transitionsOf(l, quota), []);
  assert.equal(l.view().vfio_mms[0]!.pasids, [1, 5]);
});

s('FREE frees the PASIDs this vm owns inside [min, max], each its own transition, others ignored, always 0', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  for (let i = 0; i < 3; i++) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }); // 1 2 3
  for (let i = 0; i < 2; i++) l.request({ op: 'pasid_alloc', container: 'c2', min: 1, max: 0xfffff }); // 4 5
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }); // 6
  const f = l.request({ op: 'pasid_free', container: 'c1', min: 2, max: 5 });
  assert.is(f.ret, 0);
  assert.is(f.reason, null);
  assert.equal(effects(l, f), ['pasid FREE 2', 'pasid FREE 3'], "vm2's 4 and 5 are silently ignored");
  assert.is(l.pasidOwner(4)?.mm, '0x2000');
  const none = l.request({ op: 'pasid_free', container: 'c1', min: 4, max: 5 });
  assert.is(none.ret, 0, 'freeing only what others own still returns 0');
  assert.is(none.reason, 'none_owned');
  assert.equal(transitionsOf(l, none), []);
  const unalloc = l.request({ op: 'pasid_request', container: 'c1', hex: req7({ flags: FREE, min: 100, max: 200 }) });
  assert.is(unalloc.ret, 0);
  const all = l.request({ op: 'pasid_free', container: 'c1', min: 0, max: 0x80000000 });
  assert.equal(effects(l, all), ['pasid FREE 1', 'pasid FREE 6']);
  assert.equal(l.view().vfio_mms.map((m) => m.pasids), [[], [4, 5]]);
});

s('a typed FREE of one pasid is the range [pasid, pasid], as QEMU fills the v7 struct', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  const f = l.request({ op: 'pasid_free', container: 'c1', pasid: 2 });
  assert.is(f.ret, 0);
  assert.equal(effects(l, f), ['pasid FREE 2']);
  const again = l.request({ op: 'pasid_free', container: 'c1', pasid: 2 });
  assert.is(again.ret, 0, 'v7 has no -ENOENT: a FREE of a free PASID succeeds');
  assert.is(again.reason, 'none_owned');
  const entry = JSON.parse(l.log.row(f.seq)!.entry);
  assert.equal(entry.req, { op: 'pasid_free', container: 'c1', pasid: 2 }, 'the request is logged as given');
});

s('no PASID 0 check in v7: min = 0 can hand out 0, recorded as a quirk', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  const z = l.request({ op: 'pasid_alloc', container: 'c1', min: 0, max: 9 });
  assert.is(z.ret, 0);
  assert.is(z.pasid, 0);
  assert.is(z.reason, 'pasid_zero');
  assert.is(l.pasidOwner(0)?.mm, '0x1000');
});

s('the v1 typed FREE of a range is the v7 ioctl, unknown to a v1 kernel', async () => {
  const l = await freshLedger();
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 9 });
  const f = l.request({ op: 'pasid_free', container: 'c1', min: 1, max: 9 });
  assert.is(f.ret, -u.ENOTTY);
  assert.is(f.reason, 'v7_ioctl');
  assert.is(l.view().vfio_mms[0]!.held, 1);
});

s('request files: pasid_free takes one pasid or a whole range', () => {
  // parseRequest is profile-blind; the shape is checked before the kernel sees anything
  assert.throws(() => parseRequest({ op: 'pasid_free', container: 'c1' }), (e: unknown) => e instanceof RequestError);
  assert.throws(() => parseRequest({ op: 'pasid_free', container: 'c1', min: 1 }), /both "min" and "max"/);
  assert.throws(() => parseRequest({ op: 'pasid_free', container: 'c1', pasid: 1, min: 1, max: 2 }), /"pasid" \(v1\) or "min" and "max"/);
  assert.throws(() => parseRequest({ op: 'pasid_alloc', container: 'c1', min: -1, max: 2 }), /u32/);
});

s.run();
