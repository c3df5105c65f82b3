import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';

/** Bytes from a hex string typed out by hand (spaces ignored). */
function hex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const s = suite('uapi/pasid_request_v1');

s('sizes', () => {
  assert.is(u.PASID_REQUEST_V1_SIZEOF, 20);
  assert.is(u.PASID_REQUEST_V1_MINSZ, 8);
});

s('encode ALLOC pins the C layout', () => {
  const b = u.encodePasidRequestV1({ flags: u.VFIO_IOMMU_PASID_ALLOC, min: 1, max: 0xfffff });
  assert.is(toHex(b), toHex(hex('14000000 01000000 01000000 ffff0f00 00000000')));
  const c = u.encodePasidRequestV1({ argsz: 0x11223344, flags: 1, min: 0x0a0b0c0d, max: 0xffffffff, result: 0x01020304 });
  assert.is(toHex(c), toHex(hex('44332211 01000000 0d0c0b0a ffffffff 04030201')));
});

s('encode FREE puts pasid at offset 8', () => {
  const b = u.encodePasidRequestV1({ flags: u.VFIO_IOMMU_PASID_FREE, pasid: 5 });
  assert.is(toHex(b), toHex(hex('14000000 02000000 05000000 00000000 00000000')));
});

s('encode rejects non-u32 values and a disagreeing union', () => {
  assert.throws(() => u.encodePasidRequestV1({ flags: -1 }), RangeError);
  assert.throws(() => u.encodePasidRequestV1({ flags: 1, min: 0x100000000 }), RangeError);
  assert.throws(() => u.encodePasidRequestV1({ flags: 1, max: 1.5 }), RangeError);
  assert.throws(() => u.encodePasidRequestV1({ flags: 1, argsz: Number.NaN }), RangeError);
  assert.throws(() => u.encodePasidRequestV1({ flags: 2, pasid: 3, min: 4 }), RangeError);
  assert.is(u.encodePasidRequestV1({ flags: 2, pasid: 3, min: 3 }).length, 20);
});

s('read gives null for fields past the end', () => {
  const b = hex('14000000 01000000 07000000 09000000 0b000000');
  assert.equal(u.readPasidRequestV1(b), { length: 20, argsz: 20, flags: 1, min: 7, max: 9, result: 11, pasid: 7 });
  assert.equal(u.readPasidRequestV1(b.subarray(0, 11)), {
    length: 11, argsz: 20, flags: 1, min: null, max: null, result: null, pasid: null,
  });
  assert.equal(u.readPasidRequestV1(new Uint8Array(0)), {
    length: 0, argsz: null, flags: null, min: null, max: null, result: null, pasid: null,
  });
});

s('read respects a subarray view', () => {
  const big = hex('ffffffff 14000000 02000000 05000000 ffffffff');
  const v = u.readPasidRequestV1(big.subarray(4, 16));
  assert.equal(v, { length: 12, argsz: 20, flags: 2, min: 5, max: null, result: null, pasid: 5 });
});

s('writePasidResultV1 writes result@16', () => {
  const b = hex('14000000 01000000 01000000 ffff0f00 00000000');
  assert.ok(u.writePasidResultV1(b, 0x12345));
  assert.is(toHex(b), toHex(hex('14000000 01000000 01000000 ffff0f00 45230100')));
  const short = hex('14000000 01000000 01000000 ffff0f00 000000');
  assert.not.ok(u.writePasidResultV1(short, 1));
  assert.is(toHex(short), toHex(hex('14000000 01000000 01000000 ffff0f00 000000')));
  assert.throws(() => u.writePasidResultV1(b, -1), RangeError);
});

s('decode: the kernel order of checks 2..7', () => {
  const fail = (b: Uint8Array) => u.decodePasidRequestV1(b);
  // 2: shorter than minsz, even with garbage that would fail later checks
  assert.equal(fail(hex('04000000 030000')), { ok: false, errno: -14, reason: 'short_buffer' });
  assert.equal(fail(new Uint8Array(0)), { ok: false, errno: -14, reason: 'short_buffer' });
  // 3: argsz < 8 beats bad flags
  assert.equal(fail(hex('07000000 ff000000')), { ok: false, errno: -22, reason: 'bad_argsz' });
  // 4: unknown flag bits beat both-flags and the short second copy
  assert.equal(fail(hex('14000000 07000000')), { ok: false, errno: -22, reason: 'unknown_flags' });
  assert.equal(fail(hex('14000000 00000080')), { ok: false, errno: -22, reason: 'unknown_flags' });
  // 5: both flags beats the short second copy
  assert.equal(fail(hex('14000000 03000000')), { ok: false, errno: -22, reason: 'both_flags' });
  // 6: shorter than sizeof, whatever argsz says
  assert.equal(fail(hex('08000000 01000000')), { ok: false, errno: -14, reason: 'short_buffer' });
  assert.equal(fail(hex('14000000 02000000 05000000 00000000 000000')), { ok: false, errno: -14, reason: 'short_buffer' });
  // 6 beats 7: neither flag, short buffer
  assert.equal(fail(hex('14000000 00000000 00000000')), { ok: false, errno: -14, reason: 'short_buffer' });
  // 7: neither flag
  assert.equal(fail(hex('14000000 00000000 00000000 00000000 00000000')), { ok: false, errno: -22, reason: 'no_flag' });
});

s('decode ALLOC and FREE', () => {
  assert.equal(u.decodePasidRequestV1(hex('14000000 01000000 01000000 ffff0f00 00000000')), {
    ok: true, op: 'alloc', argsz: 20, flags: 1, min: 1, max: 0xfffff, result: 0,
  });
  assert.equal(u.decodePasidRequestV1(hex('14000000 02000000 05000000 00000000 00000000')), {
    ok: true, op: 'free', argsz: 20, flags: 2, pasid: 5,
  });
  // argsz between minsz and sizeof is accepted: the kernel copies sizeof anyway
  assert.equal(u.decodePasidRequestV1(hex('08000000 02000000 05000000 00000000 00000000')), {
    ok: true, op: 'free', argsz: 8, flags: 2, pasid: 5,
  });
  // a longer buffer and larger argsz are fine; bytes past sizeof are ignored
  const r = u.decodePasidRequestV1(hex('40000000 01000000 02000000 03000000 00000000 ffffffff'));
  assert.equal(r, { ok: true, op: 'alloc', argsz: 64, flags: 1, min: 2, max: 3, result: 0 });
});

s.run();
