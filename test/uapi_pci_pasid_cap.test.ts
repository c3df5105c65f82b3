import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';

function hex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function toHex(b: Uint8Array | null): string | null {
  return b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const s = suite('uapi/pci_pasid_cap');

s('constants from pci_regs.h', () => {
  assert.is(u.PCI_CFG_SPACE_SIZE, 256);
  assert.is(u.PCI_CFG_SPACE_EXP_SIZE, 4096);
  assert.is(u.PCI_EXT_CAP_ID_PASID, 0x1b);
  assert.is(u.PCI_EXT_CAP_PASID_SIZEOF, 8);
  assert.is(u.PCI_PASID_CAP, 4);
  assert.is(u.PCI_PASID_CAP_EXEC, 0x02);
  assert.is(u.PCI_PASID_CAP_PRIV, 0x04);
  assert.is(u.PCI_PASID_CAP_WIDTH, 0x1f00);
  assert.is(u.PCI_PASID_CTRL, 6);
  assert.is(u.PCI_PASID_CTRL_ENABLE, 0x01);
  assert.is(u.PCI_PASID_CTRL_EXEC, 0x02);
  assert.is(u.PCI_PASID_CTRL_PRIV, 0x04);
});

s('header macros', () => {
  assert.is(u.PCI_EXT_CAP_ID(0x2001001b), 0x1b);
  assert.is(u.PCI_EXT_CAP_VER(0x2001001b), 1);
  assert.is(u.PCI_EXT_CAP_NEXT(0x2001001b), 0x200);
  // low two bits of next are reserved and masked
  assert.is(u.PCI_EXT_CAP_NEXT(0xfff3ffff), 0xffc);
  assert.is(u.PCI_EXT_CAP_VER(0xfff3ffff), 3);
  assert.is(u.PCI_EXT_CAP_ID(0xfff3ffff), 0xffff);
});

s('header encode/decode', () => {
  assert.is(u.encodePciExtCapHeader({ id: 0x1b, version: 1, next: 0x200 }), 0x2001001b);
  assert.is(u.encodePciExtCapHeader({ id: 0xffff, version: 0xf, next: 0xffc }), 0xffcfffff);
  assert.is(u.encodePciExtCapHeader({ id: 0x10000, version: 1, next: 0 }), null);
  assert.is(u.encodePciExtCapHeader({ id: 1, version: 16, next: 0 }), null);
  assert.is(u.encodePciExtCapHeader({ id: 1, version: 1, next: 0x202 }), null);
  assert.is(u.encodePciExtCapHeader({ id: 1, version: 1, next: 0x1000 }), null);
  assert.is(u.encodePciExtCapHeader(null as never), null);
  assert.equal(u.decodePciExtCapHeader(0x2001001b), { id: 0x1b, version: 1, next: 0x200 });
  assert.equal(u.decodePciExtCapHeader(0), { id: 0, version: 0, next: 0 });
  assert.is(u.decodePciExtCapHeader(-1), null);
  assert.is(u.decodePciExtCapHeader(2 ** 32), null);
  assert.is(u.decodePciExtCapHeader(1.5), null);
});

s('capability encode pins the bytes', () => {
  assert.is(toHex(u.encodePciPasidCap({ exec: true, priv: true, width: 20, next: 0x200 })), toHex(hex('1b000120 0614 0000')));
  assert.is(toHex(u.encodePciPasidCap({ exec: false, priv: false, width: 20 })), toHex(hex('1b000100 0014 0000')));
  assert.is(
    toHex(u.encodePciPasidCap({ exec: false, priv: true, width: 16, next: 0x148, version: 1, ctrl: { enable: true, exec: true, priv: false } })),
    toHex(hex('1b008114 0410 0300')),
  );
  assert.is(u.encodePciPasidCap({ exec: false, priv: false, width: 32 }), null);
  assert.is(u.encodePciPasidCap({ exec: false, priv: false, width: -1 }), null);
  assert.is(u.encodePciPasidCap({ exec: false, priv: false, width: 20, next: 3 }), null);
  assert.is(u.encodePciPasidCap(undefined as never), null);
});

s('capability decode', () => {
  assert.equal(u.decodePciPasidCap(hex('1b000120 0614 0000')), {
    id: 0x1b, version: 1, next: 0x200, exec: true, priv: true, width: 20,
    ctrl: { enable: false, exec: false, priv: false }, cap_reg: 0x1406, ctrl_reg: 0,
  });
  // at an offset of a config-space image, reserved bits kept in the raw registers
  const img = hex('00000000 1b008114 0410 0380 ffffffff');
  assert.equal(u.decodePciPasidCap(img, 4), {
    id: 0x1b, version: 1, next: 0x148, exec: false, priv: true, width: 16,
    ctrl: { enable: true, exec: true, priv: false }, cap_reg: 0x1004, ctrl_reg: 0x8003,
  });
  assert.is(u.decodePciPasidCap(img, 5), null); // id mismatch
  assert.is(u.decodePciPasidCap(img, 9), null); // past the end
  assert.is(u.decodePciPasidCap(img, -1), null);
  assert.is(u.decodePciPasidCap(img, 0.5), null);
  assert.is(u.decodePciPasidCap(hex('1b000120 0614 00')), null);
  assert.is(u.decodePciPasidCap(null as never), null);
});

s('round trip', () => {
  for (let width = 0; width <= 31; width++) {
    for (const exec of [false, true]) {
      for (const priv of [false, true]) {
        const b = u.encodePciPasidCap({ exec, priv, width, next: 0x100 + 4 * width });
        assert.ok(b);
        const d = u.decodePciPasidCap(b!);
        assert.ok(d);
        assert.equal([d!.exec, d!.priv, d!.width, d!.next, d!.version], [exec, priv, width, 0x100 + 4 * width, 1]);
      }
    }
  }
});

s.run();
