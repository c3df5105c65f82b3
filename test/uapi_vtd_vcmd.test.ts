import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';

const s = suite('uapi/vtd_vcmd');

s('registers and codes', () => {
  assert.is(u.DMAR_VCCAP_REG, 0xe00);
  assert.is(u.DMAR_VCMD_REG, 0xe10);
  assert.is(u.DMAR_VCRSP_REG, 0xe20);
  assert.is(u.VTD_VCCAP_PAS, 1);
  assert.is(u.VTD_VCMD_CMD_MASK, 0xff);
  assert.is(u.VTD_VCMD_ALLOC_PASID, 1);
  assert.is(u.VTD_VCMD_FREE_PASID, 2);
  assert.is(u.VTD_VCRSP_IP, 1);
  assert.is(u.VTD_VCMD_SUCCESS, 0);
  assert.is(u.VTD_VCMD_UNDEFINED_CMD, 1);
  assert.is(u.VTD_VCMD_NO_AVAILABLE_PASID, 2);
  assert.is(u.VTD_VCMD_FREE_INVALID_PASID, 2);
});

s('macros', () => {
  assert.is(u.VTD_VCMD_PASID_VALUE(0x00000502), 5);
  assert.is(u.VTD_VCMD_PASID_VALUE(0x7fffffff02), 0xfffff);
  assert.is(u.VTD_VCMD_PASID_VALUE(-1), null);
  assert.is(u.VTD_VCRSP_SC(2), 0x4);
  assert.is(u.VTD_VCRSP_SC(7), 0x6);
  assert.is(u.VTD_VCRSP_RSLT(0xfffff), 0xfffff00);
  assert.is(u.VTD_VCRSP_RSLT(0xffffffff), 0xffffffff00);
});

s('decodeVcmd', () => {
  assert.equal(u.decodeVcmd(0x01), { cmd: 1, op: 'alloc', pasid: 0 });
  assert.equal(u.decodeVcmd(0x502), { cmd: 2, op: 'free', pasid: 5 });
  assert.equal(u.decodeVcmd(0x0fffff02), { cmd: 2, op: 'free', pasid: 0xfffff });
  // bits above 27 are not part of the operand
  assert.equal(u.decodeVcmd(0x10000502), { cmd: 2, op: 'free', pasid: 5 });
  assert.equal(u.decodeVcmd(0xffffffffffffff02n), { cmd: 2, op: 'free', pasid: 0xfffff });
  assert.equal(u.decodeVcmd(0x03), { cmd: 3, op: null, pasid: 0 });
  assert.equal(u.decodeVcmd(0x100), { cmd: 0, op: null, pasid: 1 });
  assert.is(u.decodeVcmd(-1), null);
  assert.is(u.decodeVcmd(1.5), null);
  assert.is(u.decodeVcmd(2 ** 53), null);
  assert.is(u.decodeVcmd(1n << 64n), null);
  assert.is(u.decodeVcmd(-1n), null);
});

s('encodeVcrsp', () => {
  assert.is(u.encodeVcrsp({ ip: false, status: 0, result: 5 }), 0x500);
  assert.is(u.encodeVcrsp({ ip: false, status: 0, result: 0xfffff }), 0xfffff00);
  assert.is(u.encodeVcrsp({ ip: true, status: 0, result: 0 }), 0x1);
  assert.is(u.encodeVcrsp({ ip: false, status: 1, result: 0 }), 0x2);
  assert.is(u.encodeVcrsp({ ip: false, status: 2, result: 0 }), 0x4);
  assert.is(u.encodeVcrsp({ ip: true, status: 3, result: 0xffffffff }), 0xffffffff07);
  assert.throws(() => u.encodeVcrsp({ ip: false, status: 4, result: 0 }), RangeError);
  assert.throws(() => u.encodeVcrsp({ ip: false, status: 0, result: -1 }), RangeError);
  assert.throws(() => u.encodeVcrsp({ ip: false, status: 0, result: 2 ** 32 }), RangeError);
});

s('decodeVcrsp', () => {
  assert.equal(u.decodeVcrsp(0x500), { ip: false, status: 0, result: 5 });
  assert.equal(u.decodeVcrsp(0x4), { ip: false, status: 2, result: 0 });
  assert.equal(u.decodeVcrsp(0x3), { ip: true, status: 1, result: 0 });
  assert.equal(u.decodeVcrsp(0xffffffff07n), { ip: true, status: 3, result: 0xffffffff });
  assert.equal(u.decodeVcrsp(0x1fffffffffffff00n), { ip: false, status: 0, result: Number.MAX_SAFE_INTEGER });
  assert.is(u.decodeVcrsp(0x2000000000000000n), null);
  assert.is(u.decodeVcrsp(-5), null);
  assert.is(u.decodeVcrsp(Number.NaN), null);
});

s.run();
