import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRequest } from '../src/model/request.js';
import * as u from '../src/uapi/index.js';
import { freshLedger, setupVm } from './helpers.js';
import { assertWhole, prng, transitionsOf } from './v7_checks.js';

const s = suite('get_info');
const PGSIZES = '0xfffffffffffff000';

s('v1 NESTING: the info struct and the nesting capability with VFIO_IOMMU_PASID_REQS, byte for byte', async () => {
  const l = await freshLedger();
  setupVm(l);
  const o = l.request({ op: 'get_info', container: 'c1' });
  assert.is(o.ret, 0);
  assert.is(o.reason, null);
  // argsz 40 | flags PGSIZES|CAPS | iova_pgsizes ~0xfff | cap_offset 24 | pad | cap: id 2 v1 next 0 | PASID_REQS | flags 0
  assert.is(o.hex, '28000000' + '03000000' + '00f0ffffffffffff' + '18000000' + '00000000' + '0200' + '0100' + '00000000' + '01000000' + '00000000');
  assert.equal(o.info, {
    argsz: 40, flags: 3, iova_pgsizes: PGSIZES,
    caps: [{ id: 2, version: 1, offset: 24, next: 0, nesting_capabilities: 1 }],
    caps_truncated: false, nesting: true, pasid_reqs: true,
  });
  assert.equal(transitionsOf(l, o), [], 'no state change');
  const entry = JSON.parse(l.log.row(o.seq)!.entry);
  assert.is(entry.op, 'get_info');
  assert.is(entry.hex, o.hex);
  assert.equal(entry.info, o.info, 'the meaning is in the log too');
});

s('v1: an argsz too small for the chain raises argsz and sets CAPS; 16 bytes only below 20', async () => {
  const l = await freshLedger();
  setupVm(l);
  const small = l.request({ op: 'get_info', container: 'c1', argsz: 24 });
  assert.is(small.hex, '28000000' + '03000000' + '00f0ffffffffffff' + '00000000');
  assert.is(small.info!.caps_truncated, true);
  assert.is(small.info!.argsz, 40, 'the size to retry with');
  assert.equal(small.info!.caps, []);
  assert.is(small.info!.pasid_reqs, false, 'the caller cannot know before it retries');
  const minimal = l.request({ op: 'get_info', container: 'c1', argsz: 16 });
  assert.is(minimal.hex!.length, 32);
  const bad = l.request({ op: 'get_info', container: 'c1', argsz: 15 });
  assert.is(bad.ret, -u.EINVAL);
  assert.is(bad.reason, 'bad_argsz');
  assert.is(bad.hex, undefined);
  const big = l.request({ op: 'get_info', container: 'c1', argsz: 4096 });
  assert.is(big.info!.argsz, 4096, 'an argsz large enough is left as given');
  assert.is(big.info!.caps.length, 1);
});

s('v1: every type1 container reports the nesting cap, PASID_REQS only for NESTING; NESTING without a vfio_mm still claims PASID requests (quirk)', async () => {
  const l = await freshLedger({ capacity: 1000 });
  setupVm(l, 'vm1', 'm1', 't1', 'g1', 'VFIO_TYPE1v2_IOMMU');
  const t = l.request({ op: 'get_info', container: 't1' });
  assert.equal([t.info!.flags, t.info!.caps, t.info!.nesting, t.info!.pasid_reqs], [3, [{ id: 2, version: 1, offset: 24, next: 0, nesting_capabilities: 0 }], false, false]);
  // As vfio_iommu_info_add_nesting_cap writes it (v1 3/8): the cap with nesting_capabilities 0, padded to 8.
  assert.is(t.hex, '28000000' + '03000000' + '00f0ffffffffffff' + '18000000' + '00000000' + '02000100' + '00000000' + '00000000' + '00000000');
  setupVm(l, 'vm2', 'm2', 'n2', 'g2'); // capacity is gone: no vfio_mm
  assert.is(l.view().containers[1]!.vfio_mm, null);
  const n = l.request({ op: 'get_info', container: 'n2' });
  assert.is(n.info!.pasid_reqs, true);
  assert.is(n.reason, 'pasid_reqs_without_vfio_mm');
  assert.is(l.request({ op: 'pasid_alloc', container: 'n2', min: 1, max: 9 }).reason, 'no_vfio_mm');
});

s('v7: the struct without a modelled nesting cap; pasid_reqs says whether the container holds a vfio_mm', async () => {
  const l = await freshLedger({ profile: 'v7' });
  setupVm(l);
  const o = l.request({ op: 'get_info', container: 'c1' });
  assert.is(o.hex, '28000000' + '01000000' + '00f0ffffffffffff' + '00000000');
  assert.equal(o.info, { argsz: 40, flags: 1, iova_pgsizes: PGSIZES, caps: [], caps_truncated: false, nesting: false, pasid_reqs: true });
  setupVm(l, 'vm2', 'm2', 't2', 'g2', 'VFIO_TYPE1_IOMMU');
  assert.is(l.request({ op: 'get_info', container: 't2' }).info!.pasid_reqs, false);
});

s('the vfio core refuses a container without a driver; the no-IOMMU driver knows no GET_INFO', async () => {
  const l = await freshLedger();
  l.request({ op: 'vm_start', vm: 'vm1', mm: 'm1' });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  const o = l.request({ op: 'get_info', container: 'c1' });
  assert.is(o.ret, -u.EINVAL);
  assert.is(o.reason, 'no_iommu');
  assert.is(l.request({ op: 'get_info', container: 'nope' }).ret, -u.EBADF);
  l.request({ op: 'group_attach', container: 'c1', group: 'gn', noiommu: true });
  l.request({ op: 'set_iommu', container: 'c1', type: 'VFIO_NOIOMMU_IOMMU' });
  assert.is(l.request({ op: 'get_info', container: 'c1' }).ret, -u.ENOTTY);
});

s('request files: get_info takes a container, an optional u32 argsz and caller', () => {
  assert.equal(parseRequest({ op: 'get_info', container: 'c1', argsz: 24, vm: 'vm2' }), { op: 'get_info', container: 'c1', argsz: 24, vm: 'vm2' });
  assert.throws(() => parseRequest({ op: 'get_info', container: 'c1', argsz: 2 ** 32 }), /u32/);
  assert.throws(() => parseRequest({ op: 'get_info' }), /missing "container"/);
  assert.throws(() => parseRequest({ op: 'get_info', container: 'c1', hex: '00' }), /unknown field "hex"/);
});

s('random argsz: a reply that decodes to what the info says, never a crash, never a partial entry', async () => {
  const rnd = prng(42);
  for (const profile of ['v1', 'v7'] as const) {
    const l = await freshLedger({ profile });
    setupVm(l);
    for (let i = 0; i < 120; i++) {
      const argsz = rnd() < 0.5 ? Math.floor(rnd() * 64) : Math.floor(rnd() * 2 ** 32);
      const before = l.head().seq;
      const o = l.request({ op: 'get_info', container: 'c1', argsz });
      assertWhole(l, before, o);
      if (argsz < 16) {
        assert.is(o.ret, -u.EINVAL);
        continue;
      }
      assert.is(o.ret, 0);
      const d = u.decodeIommuInfo(Buffer.from(o.hex!, 'hex'));
      assert.ok(d.ok);
      if (d.ok) {
        assert.is(d.argsz, o.info!.argsz);
        assert.is(d.caps.length, o.info!.caps.length);
      }
    }
    l.close();
  }
});

s.run();
