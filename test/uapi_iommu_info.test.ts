import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';

function hex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const s = suite('uapi/iommu_info');
const PG = 0x40201000; // 4K | 2M | 1G

s('constants', () => {
  assert.is(u.VFIO_IOMMU_INFO_PGSIZES, 1);
  assert.is(u.VFIO_IOMMU_INFO_CAPS, 2);
  assert.is(u.VFIO_IOMMU_TYPE1_INFO_SIZEOF, 24);
  assert.is(u.VFIO_IOMMU_TYPE1_INFO_MINSZ, 16);
  assert.is(u.VFIO_IOMMU_TYPE1_INFO_CAPSZ, 20);
  assert.is(u.VFIO_INFO_CAP_HEADER_SIZEOF, 8);
  assert.is(u.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING, 2);
  assert.is(u.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_VERSION, 1);
  assert.is(u.VFIO_IOMMU_TYPE1_INFO_CAP_NESTING_SIZEOF, 16);
  assert.is(u.VFIO_IOMMU_PASID_REQS, 1);
});

s('encode: nesting cap fits', () => {
  const b = u.encodeIommuInfo({ argsz: 40, iova_pgsizes: PG, nesting: true, pasid_reqs: true });
  assert.is(toHex(b), toHex(hex(
    '28000000 03000000 00102040 00000000 18000000 00000000' + // info: argsz 40, flags 3, pgsizes, cap_offset 24, pad
    '0200 0100 00000000 01000000 00000000',                  // cap: id 2, ver 1, next 0, PASID_REQS, flags
  )));
  const big = u.encodeIommuInfo({ argsz: 64, iova_pgsizes: PG, nesting: true, pasid_reqs: false });
  assert.is(toHex(big), toHex(hex(
    '40000000 03000000 00102040 00000000 18000000 00000000 0200 0100 00000000 00000000 00000000',
  )));
});

s('encode: caps do not fit, argsz raised, cap_offset 0', () => {
  assert.is(
    toHex(u.encodeIommuInfo({ argsz: 16, iova_pgsizes: PG, nesting: true, pasid_reqs: true })),
    toHex(hex('28000000 03000000 00102040 00000000')),
  );
  assert.is(
    toHex(u.encodeIommuInfo({ argsz: 20, iova_pgsizes: PG, nesting: true, pasid_reqs: true })),
    toHex(hex('28000000 03000000 00102040 00000000 00000000')),
  );
  assert.is(
    toHex(u.encodeIommuInfo({ argsz: 39, iova_pgsizes: PG, nesting: true, pasid_reqs: true })),
    toHex(hex('28000000 03000000 00102040 00000000 00000000')),
  );
});

s('encode: no caps', () => {
  assert.is(
    toHex(u.encodeIommuInfo({ argsz: 64, iova_pgsizes: 0x1000n, nesting: false, pasid_reqs: true })),
    toHex(hex('40000000 01000000 00100000 00000000 00000000')),
  );
  assert.is(
    toHex(u.encodeIommuInfo({ argsz: 16, iova_pgsizes: 0xfffffffffffff000n, nesting: false, pasid_reqs: false })),
    toHex(hex('10000000 01000000 00f0ffff ffffffff')),
  );
});

s('encode: argsz < 16 and bad fields throw', () => {
  assert.throws(() => u.encodeIommuInfo({ argsz: 15, iova_pgsizes: PG, nesting: true, pasid_reqs: true }), RangeError);
  assert.throws(() => u.encodeIommuInfo({ argsz: 40, iova_pgsizes: -1, nesting: true, pasid_reqs: true }), RangeError);
  assert.throws(() => u.encodeIommuInfo({ argsz: 40, iova_pgsizes: 1n << 64n, nesting: true, pasid_reqs: true }), RangeError);
});

s('decode what the kernel wrote', () => {
  assert.equal(u.decodeIommuInfo(hex(
    '28000000 03000000 00102040 00000000 18000000 00000000 0200 0100 00000000 01000000 00000000',
  )), {
    ok: true, argsz: 40, flags: 3, iova_pgsizes: 0x40201000n, cap_offset: 24,
    caps: [{ id: 2, version: 1, offset: 24, next: 0, nesting_capabilities: 1 }],
  });
  assert.equal(u.decodeIommuInfo(hex('28000000 03000000 00102040 00000000')), {
    ok: true, argsz: 40, flags: 3, iova_pgsizes: 0x40201000n, cap_offset: null, caps: [],
  });
  // CAPS clear: cap_offset is not followed
  assert.equal(u.decodeIommuInfo(hex('18000000 01000000 00100000 00000000 04000000 00000000')), {
    ok: true, argsz: 24, flags: 1, iova_pgsizes: 0x1000n, cap_offset: 4, caps: [],
  });
});

s('decode a chain of two caps, the nesting one 12 bytes long', () => {
  const b = hex(
    '30000000 03000000 00100000 00000000 18000000 00000000' +
    '0100 0100 24000000 aaaaaaaa' + // id 1 at 24, next 36
    '0200 0100 00000000 01000000',  // id 2 at 36, 12 bytes
  );
  assert.equal(u.decodeIommuInfo(b), {
    ok: true, argsz: 48, flags: 3, iova_pgsizes: 0x1000n, cap_offset: 24,
    caps: [
      { id: 1, version: 1, offset: 24, next: 36 },
      { id: 2, version: 1, offset: 36, next: 0, nesting_capabilities: 1 },
    ],
  });
});

s('decode failures', () => {
  const info = '28000000 03000000 00100000 00000000';
  assert.equal(u.decodeIommuInfo(hex('28000000 03000000 00100000 000000')), { ok: false, errno: -14, reason: 'short_buffer' });
  assert.equal(u.decodeIommuInfo(hex(info + '10000000 00000000')), { ok: false, errno: -22, reason: 'bad_cap_offset' });
  assert.equal(u.decodeIommuInfo(hex(info + '18000000 00000000 0200 0100 0000')), { ok: false, errno: -22, reason: 'cap_out_of_range' });
  assert.equal(u.decodeIommuInfo(hex(info + '18000000 00000000 0200 0100 00000000 010000')), { ok: false, errno: -22, reason: 'cap_out_of_range' });
  assert.equal(u.decodeIommuInfo(hex(info + '18000000 00000000 0100 0100 00010000')), { ok: false, errno: -22, reason: 'cap_out_of_range' });
  assert.equal(u.decodeIommuInfo(hex(info + '18000000 00000000 0100 0100 18000000')), { ok: false, errno: -22, reason: 'cap_loop' });
  assert.equal(u.decodeIommuInfo(hex(info + '18000000 00000000 0100 0100 20000000 0100 0100 18000000')), { ok: false, errno: -22, reason: 'cap_loop' });
  assert.equal(u.decodeIommuInfo(hex(info + '18000000 00000000 0100 0100 08000000')), { ok: false, errno: -22, reason: 'bad_cap_offset' });
});

s('encode then decode', () => {
  for (const argsz of [16, 19, 20, 23, 24, 39, 40, 41, 4096]) {
    for (const nesting of [false, true]) {
      for (const pasid_reqs of [false, true]) {
        const d = u.decodeIommuInfo(u.encodeIommuInfo({ argsz, iova_pgsizes: PG, nesting, pasid_reqs }));
        assert.ok(d.ok);
        if (!d.ok) continue;
        const fits = nesting && argsz >= 40;
        assert.is(d.argsz, nesting && argsz < 40 ? 40 : argsz);
        assert.is(d.flags, nesting ? 3 : 1);
        assert.is(d.cap_offset, argsz >= 20 ? (fits ? 24 : 0) : null);
        assert.equal(d.caps, fits ? [{ id: 2, version: 1, offset: 24, next: 0, nesting_capabilities: pasid_reqs ? 1 : 0 }] : []);
      }
    }
  }
});

s.run();
