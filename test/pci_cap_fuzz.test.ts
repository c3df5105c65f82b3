import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';
import type { PasidCapExposure } from '../src/model/types.js';
import { freshLedger, setupVm } from './helpers.js';
import { assertWholeBatch, prng, randomBytes } from './v7_checks.js';

/** Extended capability ids whose length vfio-pci computes, hides, or fixes, and some it has never heard of. */
const IDS = [0x01, 0x02, 0x03, 0x04, 0x08, 0x09, 0x0b, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x13, 0x15, 0x16, 0x17, 0x18, 0x1b, 0x1b, 0x1b, 0x23, 0xff, 0x1ff, 0xffff];
const s = suite('pci_cap/fuzz');

/** A config space: uniform noise, or noise with a chain of random headers (loops, odd nexts and all). */
function randomImage(rnd: () => number): Buffer {
  if (rnd() < 0.1) return randomBytes(rnd, 256);
  const img = randomBytes(rnd, 4096);
  if (rnd() < 0.2) return img;
  let at = 0x100;
  for (let n = Math.floor(rnd() * 12); n >= 0 && at >= 0x100; n--) {
    const id = IDS[Math.floor(rnd() * IDS.length)]!;
    const next = rnd() < 0.1 ? Math.floor(rnd() * 0x1000) & 0xffc : rnd() < 0.1 ? 0 : 0x100 + (Math.floor(rnd() * 0x3c0) << 2);
    img.writeUInt32LE(((next << 20) | (Math.floor(rnd() * 16) << 16) | id) >>> 0, at);
    at = next;
  }
  return img;
}

for (const exposure of ['hidden', 'exposed'] as PasidCapExposure[]) {
  s(`${exposure}: random config spaces and accesses: a value or -EFAULT, never a crash, never a partial entry`, async () => {
    const rnd = prng(exposure === 'hidden' ? 0xc0f : 0xcafe);
    const l = await freshLedger({ pasid_cap_exposure: exposure });
    setupVm(l);
    let sizes = new Map<string, number>();
    for (let dev = 0; dev < 40; dev++) {
      const bdf = `0000:3b:${(dev >> 3).toString(16).padStart(2, '0')}.${dev & 7}`;
      const img = randomImage(rnd);
      sizes.set(bdf, img.length);
      const reqs: Array<Record<string, unknown>> = [{ op: 'device_add', group: 'g1', bdf, is_vf: rnd() < 0.3, config_hex: img.toString('hex') }];
      for (let i = 0; i < 60; i++) {
        const size = [1, 2, 4][Math.floor(rnd() * 3)]!;
        const pick = rnd();
        const offset = pick < 0.8 ? Math.floor(rnd() * 4200) : pick < 0.9 ? 4096 - Math.floor(rnd() * 4) : Math.floor(rnd() * 2 ** 40);
        reqs.push(rnd() < 0.7
          ? { op: 'config_read', bdf, offset, size }
          : { op: 'config_write', bdf, offset, size, value: Math.floor(rnd() * 2 ** (8 * size)) });
      }
      const before = l.head().seq;
      const outs = l.batchUntrusted(reqs);
      assertWholeBatch(l, before, outs);
      assert.is(outs[0]!.ret, 0, 'the device is added');
      outs.slice(1).forEach((o, i) => {
        const r = reqs[i + 1]!;
        const inside = (r.offset as number) + (r.size as number) <= img.length;
        assert.is(o.ret, inside ? 0 : -u.EFAULT, JSON.stringify(r));
        if (r.op === 'config_read' && inside) assert.ok(o.value! >= 0 && o.value! < 2 ** (8 * (r.size as number)));
      });
    }
    const v = l.view();
    assert.is(v.devices.length, 40);
    for (const d of v.devices) {
      assert.is(d.cfg_size, sizes.get(d.bdf));
      assert.ok(d.guest_ecaps.length <= 960, 'the guest walk is bounded');
      if (d.is_vf || exposure === 'hidden') assert.ok(d.pasid_view !== 'exposed', 'never shown hidden or on a VF');
    }
    const views = new Set(v.devices.map((d) => d.pasid_view));
    assert.ok(views.has('hidden') && views.has('absent'), [...views].join());
    if (exposure === 'exposed') assert.ok(views.has('exposed'), 'some random chains show PASID');
    sizes = new Map();
    l.close();
  });
}

s.run();
