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

const s = suite('uapi/pasid_request_v7');

s('sizes and limit', () => {
  assert.is(u.PASID_REQUEST_V7_SIZEOF, 16);
  assert.is(u.PASID_REQUEST_V7_MINSZ, 16);
  assert.is(u.PASID_REQUEST_V7_RANGE_LIMIT, 0x80000000);
});

s('encode pins the C layout', () => {
  assert.is(
    toHex(u.encodePasidRequestV7({ flags: u.VFIO_IOMMU_FLAG_ALLOC_PASID, min: 1, max: 0xfffff })),
    toHex(hex('10000000 01000000 01000000 ffff0f00')),
  );
  assert.is(
    toHex(u.encodePasidRequestV7({ argsz: 0x20, flags: 2, min: 0x01020304, max: 0x80000000 })),
    toHex(hex('20000000 02000000 04030201 00000080')),
  );
  assert.throws(() => u.encodePasidRequestV7({ flags: 1, min: -1 }), RangeError);
  assert.throws(() => u.encodePasidRequestV7({ flags: 2 ** 32 }), RangeError);
});

s('read', () => {
  assert.equal(u.readPasidRequestV7(hex('10000000 02000000 03000000 04000000')), {
    length: 16, argsz: 16, flags: 2, min: 3, max: 4,
  });
  assert.equal(u.readPasidRequestV7(hex('10000000 020000')), {
    length: 7, argsz: 16, flags: null, min: null, max: null,
  });
});

s('decode: v7 order', () => {
  const d = (h: string) => u.decodePasidRequestV7(hex(h));
  assert.equal(d('10000000 01000000 01000000 ffff0f'), { ok: false, errno: -14, reason: 'short_buffer', afterVfioMm: false });
  assert.equal(d('0f000000 ff000000 05000000 01000000'), { ok: false, errno: -22, reason: 'bad_argsz', afterVfioMm: false });
  assert.equal(d('10000000 04000000 05000000 01000000'), { ok: false, errno: -22, reason: 'unknown_flags', afterVfioMm: false });
  assert.equal(d('10000000 01000000 05000000 01000000'), { ok: false, errno: -22, reason: 'bad_range', afterVfioMm: false });
  assert.equal(d('10000000 01000000 00000000 01000080'), { ok: false, errno: -22, reason: 'bad_range', afterVfioMm: false });
  assert.equal(d('10000000 01000000 01000080 01000080'), { ok: false, errno: -22, reason: 'bad_range', afterVfioMm: false });
  // range is checked before the flag combination
  assert.equal(d('10000000 00000000 05000000 01000000'), { ok: false, errno: -22, reason: 'bad_range', afterVfioMm: false });
  assert.equal(d('10000000 00000000 01000000 05000000'), { ok: false, errno: -22, reason: 'no_flag', afterVfioMm: true });
  assert.equal(d('10000000 03000000 01000000 05000000'), { ok: false, errno: -22, reason: 'both_flags', afterVfioMm: true });
});

s('decode ALLOC and FREE', () => {
  assert.equal(u.decodePasidRequestV7(hex('10000000 01000000 01000000 ffff0f00')), {
    ok: true, op: 'alloc', argsz: 16, flags: 1, min: 1, max: 0xfffff,
  });
  // 1 << 31 itself passes (unsigned compare with >)
  assert.equal(u.decodePasidRequestV7(hex('18000000 02000000 00000080 00000080 ffffffff')), {
    ok: true, op: 'free', argsz: 24, flags: 2, min: 0x80000000, max: 0x80000000,
  });
});

s.run();
