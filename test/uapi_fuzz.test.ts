import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';
import { mulberry32 } from './helpers.js';


const ROUNDS = 5000;
const WORDS = [0, 1, 2, 3, 4, 7, 8, 15, 16, 20, 24, 36, 40, 0xfffff, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff];
const s = suite('uapi/fuzz');

/**
 * A random byte string of length 0..64, as a subarray of a larger buffer
 * whose surrounding bytes are 0xEE, so a read past the end would either
 * throw (DataView bounds) or show up as 0xEE-derived values.
 */
function randomBytes(rnd: () => number): Uint8Array {
  const len = Math.floor(rnd() * 65);
  const pre = Math.floor(rnd() * 8);
  const backing = new Uint8Array(pre + len + 8).fill(0xee);
  const buf = backing.subarray(pre, pre + len);
  const mode = rnd();
  if (mode < 0.4) {
    for (let i = 0; i < len; i++) buf[i] = Math.floor(rnd() * 256);
  } else {
    // little-endian words drawn from values near the checks' boundaries, so
    // inputs get past the flags check and reach every later branch
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let off = 0; off < len; off += 4) {
      const w = WORDS[Math.floor(rnd() * WORDS.length)]!;
      for (let j = 0; j < 4 && off + j < len; j++) dv.setUint8(off + j, (w >>> (8 * j)) & 0xff);
    }
  }
  return buf;
}

function isErrnoResult(r: { ok: boolean; errno?: unknown; reason?: unknown }): boolean {
  return r.ok || (typeof r.errno === 'number' && r.errno < 0 && typeof r.reason === 'string');
}

s('v1 read/decode never throw and agree', () => {
  const rnd = mulberry32(0x5eed0001);
  for (let i = 0; i < ROUNDS; i++) {
    const b = randomBytes(rnd);
    const v = u.readPasidRequestV1(b);
    assert.is(v.length, b.length);
    for (const [k, end] of [['argsz', 4], ['flags', 8], ['min', 12], ['max', 16], ['result', 20], ['pasid', 12]] as const) {
      assert.is(v[k] === null, b.length < end, `${k} with length ${b.length}`);
    }
    const d = u.decodePasidRequestV1(b);
    assert.ok(isErrnoResult(d));
    if (d.ok) {
      assert.ok(b.length >= 20);
      assert.is(d.flags, d.op === 'alloc' ? 1 : 2);
    } else if (d.reason === 'short_buffer') {
      assert.is(d.errno, -u.EFAULT);
      assert.ok(b.length < 20);
    } else {
      assert.is(d.errno, -u.EINVAL);
    }
  }
});

s('v7 read/decode never throw and agree', () => {
  const rnd = mulberry32(0x5eed0007);
  for (let i = 0; i < ROUNDS; i++) {
    const b = randomBytes(rnd);
    const v = u.readPasidRequestV7(b);
    assert.is(v.max === null, b.length < 16);
    const d = u.decodePasidRequestV7(b);
    assert.ok(isErrnoResult(d));
    if (d.ok) {
      assert.ok(d.min <= d.max && d.max <= 0x80000000 && d.argsz >= 16);
    } else {
      assert.is(d.afterVfioMm, d.reason === 'no_flag' || d.reason === 'both_flags');
    }
  }
});

s('iommu info decode never throws, also on near-valid chains', () => {
  const rnd = mulberry32(0x5eed0012);
  for (let i = 0; i < ROUNDS; i++) {
    const b = randomBytes(rnd);
    if (b.length >= 20 && rnd() < 0.5) {
      // CAPS set and a cap_offset near the struct, to walk random chains
      b[4] = (b[4]! | 2) & 0xff;
      b[16] = Math.floor(rnd() * 64);
      b[17] = 0; b[18] = 0; b[19] = 0;
      for (let off = 24; off + 8 <= b.length; off += 4) {
        if (rnd() < 0.3) { b[off + 4] = Math.floor(rnd() * 64); b[off + 5] = 0; b[off + 6] = 0; b[off + 7] = 0; }
      }
    }
    const d = u.decodeIommuInfo(b);
    assert.ok(isErrnoResult(d));
    if (d.ok) {
      for (const c of d.caps) assert.ok(c.offset >= 24 && c.offset + 8 <= b.length);
    }
  }
});

s('pci decoders never throw', () => {
  const rnd = mulberry32(0x5eed001b);
  for (let i = 0; i < ROUNDS; i++) {
    const b = randomBytes(rnd);
    if (b.length >= 1 && rnd() < 0.5) b[0] = 0x1b;
    if (b.length >= 2) b[1] = rnd() < 0.5 ? 0 : b[1]!;
    const offset = rnd() < 0.8 ? 0 : Math.floor(rnd() * 80) - 8;
    const d = u.decodePciPasidCap(b, offset);
    assert.ok(d === null || (d.id === 0x1b && d.width <= 31));
    const word = b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : rnd() * 2 ** 33 - 2 ** 32;
    const h = u.decodePciExtCapHeader(word);
    assert.ok(h === null || (h.next % 4 === 0 && h.version <= 15));
    if (h !== null) assert.is(u.decodePciExtCapHeader(u.encodePciExtCapHeader(h)!)!.next, h.next);
  }
});

s('vtd decoders never throw', () => {
  const rnd = mulberry32(0x5eed0e10);
  for (let i = 0; i < ROUNDS; i++) {
    const b = randomBytes(rnd);
    let big = 0n;
    for (let j = 0; j < Math.min(b.length, 9); j++) big = (big << 8n) | BigInt(b[j]!);
    if (rnd() < 0.1) big = -big - 1n;
    const num = Number(big);
    for (const v of [big, num, num / 3]) {
      const c = u.decodeVcmd(v);
      assert.ok(c === null || (c.cmd <= 0xff && c.pasid <= 0xfffff));
      const r = u.decodeVcrsp(v);
      assert.ok(r === null || (r.status <= 3 && Number.isSafeInteger(r.result)));
    }
  }
});

s('errnoName never throws', () => {
  const rnd = mulberry32(0x5eed000e);
  for (let i = 0; i < ROUNDS; i++) {
    const n = rnd() < 0.5 ? Math.floor(rnd() * 1200) - 600 : (rnd() - 0.5) * 1e6;
    assert.type(u.errnoName(n), 'string');
  }
});

s.run();
