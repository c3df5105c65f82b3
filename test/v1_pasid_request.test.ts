import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EACCES, EFAULT, EINVAL, ENOENT } from '../src/uapi/errno.js';
import { encodePasidRequestV1, readPasidRequestV1 } from '../src/uapi/pasid_request_v1.js';
import { VFIO_IOMMU_PASID_ALLOC as ALLOC, VFIO_IOMMU_PASID_FREE as FREE } from '../src/uapi/vfio.js';
import { freshLedger, setupVm } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const FULL = { min: 1, max: 0xfffff };

// SEMANTICS section 4: every check, in order, with its ret and reason.
const s = suite('v1 VFIO_IOMMU_PASID_REQUEST checks');

s('1: a container without an IOMMU set is -EINVAL no_iommu, before any buffer check', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  const o = l.request({ op: 'pasid_request', container: 'c1', hex: '00' });
  assert.is(o.ret, -EINVAL);
  assert.is(o.reason, 'no_iommu');
  l.close();
});

s('2-7: buffer checks in order: short, argsz, unknown flags, both, short for sizeof, no flag', async () => {
  const l = await freshLedger();
  setupVm(l);
  const full = encodePasidRequestV1({ flags: ALLOC, ...FULL });
  const cases: Array<[string, Uint8Array, number, string]> = [
    ['7-byte buffer', full.subarray(0, 7), -EFAULT, 'short_buffer'],
    ['argsz 7', encodePasidRequestV1({ argsz: 7, flags: ALLOC, ...FULL }), -EINVAL, 'bad_argsz'],
    // argsz is checked before flags: both wrong reports bad_argsz.
    ['argsz 0 and bad flags', encodePasidRequestV1({ argsz: 0, flags: 4 }), -EINVAL, 'bad_argsz'],
    ['flag bit 2', encodePasidRequestV1({ flags: ALLOC | 4, ...FULL }), -EINVAL, 'unknown_flags'],
    ['both flags', encodePasidRequestV1({ flags: ALLOC | FREE, ...FULL }), -EINVAL, 'both_flags'],
    // unknown flags are checked before the second copy: an 8-byte buffer with bad flags is -EINVAL.
    ['8 bytes, bad flags', encodePasidRequestV1({ flags: 8 }).subarray(0, 8), -EINVAL, 'unknown_flags'],
    ['8 bytes, ALLOC, argsz says 20', full.subarray(0, 8), -EFAULT, 'short_buffer'],
    ['19 bytes, ALLOC', full.subarray(0, 19), -EFAULT, 'short_buffer'],
    ['20 bytes, no flag', encodePasidRequestV1({ flags: 0 }), -EINVAL, 'no_flag'],
  ];
  for (const [name, buf, ret, reason] of cases) {
    const o = l.request({ op: 'pasid_request', container: 'c1', hex: hex(buf) });
    assert.is(o.ret, ret, name);
    assert.is(o.reason, reason, name);
  }
  assert.is(l.view().vfio_mms[0]!.held, 0, 'no refused request allocated anything');
  l.close();
});

s('ALLOC ok: lowest free id, written to result as the ioctl does', async () => {
  const l = await freshLedger();
  setupVm(l);
  const buf = encodePasidRequestV1({ flags: ALLOC, min: 5, max: 100 });
  const o = l.pasidRequest('c1', buf);
  assert.is(o.ret, 0);
  assert.is(o.pasid, 5);
  assert.is(readPasidRequestV1(buf).result, 5);
  const again = l.request({ op: 'pasid_alloc', container: 'c1', min: 5, max: 100 });
  assert.is(again.pasid, 6);
  // argsz larger than sizeof is fine: the kernel copies sizeof.
  const big = encodePasidRequestV1({ argsz: 64, flags: ALLOC, min: 1, max: 10 });
  assert.is(l.pasidRequest('c1', big).pasid, 1);
  l.close();
});

s('ALLOC 8: a container with only mediated (non IOMMU-backed) groups is -EFAULT no_domain', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'group_attach', container: 'c1', group: 'mdev1', iommu_backed: false });
  l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1v2_IOMMU' });
  const a = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.equal([a.ret, a.reason], [-EFAULT, 'no_domain']);
  const f = l.request({ op: 'pasid_free', container: 'c1', pasid: 1 });
  assert.equal([f.ret, f.reason], [-EFAULT, 'no_domain']);
  // A real group joining after set iommu brings a domain: the backend attaches it.
  l.request({ op: 'group_attach', container: 'c1', group: 'g1' });
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).ret, 0);
  l.close();
});

s('ALLOC 9 / FREE 9: no vfio_mm (capacity exhausted at set iommu) is -EFAULT for ALLOC, -EINVAL for FREE', async () => {
  const l = await freshLedger({ capacity: 1500 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  const c2 = l.view().containers.find((c) => c.container === 'c2')!;
  assert.is(c2.state, 'iommu_set', 'the ioctl succeeded');
  assert.is(c2.vfio_mm, null, 'but the container has no vfio_mm');
  const a = l.request({ op: 'pasid_alloc', container: 'c2', ...FULL });
  assert.equal([a.ret, a.reason], [-EFAULT, 'no_vfio_mm']);
  const f = l.request({ op: 'pasid_free', container: 'c2', pasid: 1 });
  assert.equal([f.ret, f.reason], [-EINVAL, 'no_vfio_mm']);
  l.close();
});

s('ALLOC 10: a set holding quota ids is -EFAULT quota_exhausted', async () => {
  const l = await freshLedger({ pasid_quota: 3 });
  setupVm(l);
  for (let i = 1; i <= 3; i++) assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).pasid, i);
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  assert.equal([o.ret, o.pasid, o.reason], [-EFAULT, null, 'quota_exhausted']);
  l.close();
});

s('ALLOC 11: no free id in [min,max], or min > max, is -EFAULT range_exhausted', async () => {
  const l = await freshLedger();
  setupVm(l);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 7, max: 7 }).pasid, 7);
  const o = l.request({ op: 'pasid_alloc', container: 'c1', min: 7, max: 7 });
  assert.equal([o.ret, o.reason], [-EFAULT, 'range_exhausted']);
  const r = l.request({ op: 'pasid_alloc', container: 'c1', min: 10, max: 9 });
  assert.equal([r.ret, r.reason], [-EFAULT, 'range_exhausted']);
  l.close();
});

s('ALLOC 11 quirk: v1 does not check max against the 20-bit width', async () => {
  const l = await freshLedger();
  setupVm(l);
  const o = l.request({ op: 'pasid_alloc', container: 'c1', min: 0x100000, max: 0xffffffff });
  assert.is(o.ret, 0);
  assert.is(o.pasid, 0x100000);
  assert.equal(l.pasidOwner(0x100000), { vfio_mm: 1, mm: '0x1000' });
  l.close();
});

s('ALLOC 12 quirk: the id picked is 0: -EFAULT pasid_zero, and PASID 0 stays allocated until the set goes', async () => {
  const l = await freshLedger({ pasid_quota: 2 });
  setupVm(l);
  const o = l.request({ op: 'pasid_alloc', container: 'c1', min: 0, max: 10 });
  assert.equal([o.ret, o.pasid, o.reason], [-EFAULT, 0, 'pasid_zero']);
  assert.equal(l.pasidOwner(0), { vfio_mm: 1, mm: '0x1000' });
  assert.is(l.view().vfio_mms[0]!.held, 1, 'PASID 0 counts against the quota');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 0, max: 10 }).pasid, 1);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', min: 0, max: 10 }).reason, 'quota_exhausted');
  l.request({ op: 'container_close', container: 'c1' });
  assert.is(l.pasidOwner(0), null, 'the set destruction freed it');
  l.close();
});

s('FREE 10, 11 and ok: not allocated -ENOENT, owned by another vfio_mm -EACCES, own one 0', async () => {
  const l = await freshLedger();
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  const p = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).pasid!;
  const n = l.request({ op: 'pasid_free', container: 'c1', pasid: 999 });
  assert.equal([n.ret, n.reason], [-ENOENT, 'not_allocated']);
  const x = l.request({ op: 'pasid_free', container: 'c2', pasid: p });
  assert.equal([x.ret, x.reason], [-EACCES, 'not_owner']);
  assert.equal(l.pasidOwner(p), { vfio_mm: 1, mm: '0x1000' });
  const ok = l.request({ op: 'pasid_free', container: 'c1', pasid: p });
  assert.equal([ok.ret, ok.pasid, ok.reason], [0, p, null]);
  assert.is(l.pasidOwner(p), null);
  // The raw struct form of FREE reaches the same checks.
  const raw = l.pasidRequest('c1', encodePasidRequestV1({ flags: FREE, pasid: p }));
  assert.equal([raw.ret, raw.reason], [-ENOENT, 'not_allocated']);
  l.close();
});

s('every ALLOC failure looks the same to the caller; the reason is in the log beside it', async () => {
  const l = await freshLedger({ pasid_quota: 1 });
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  const row = l.db.prepare('SELECT entry FROM entries WHERE seq = ?').get(o.seq) as { entry: string };
  const e = JSON.parse(row.entry);
  assert.is(e.type, 'request');
  assert.is(e.ret, -EFAULT);
  assert.is(e.reason, 'quota_exhausted');
  assert.is((l.db.prepare('SELECT count(*) AS n FROM entries WHERE cause = ?').get(o.seq) as { n: number }).n, 0, 'a rejected request has no transitions');
  l.close();
});

s.run();
