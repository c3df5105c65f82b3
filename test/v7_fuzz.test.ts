import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestError } from '../src/model/request.js';
import { errnoName } from '../src/uapi/index.js';
import type { Profile } from '../src/model/types.js';
import { freshLedger, setupVm } from './helpers.js';
import { assertWhole, assertWholeBatch, prng, randomBytes } from './v7_checks.js';

const WORDS = [0, 1, 2, 3, 4, 8, 15, 16, 20, 24, 0xfffff, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff];
const s = suite('v7/fuzz');

for (const profile of ['v1', 'v7'] as Profile[]) {
  s(`${profile}: random byte strings as a PASID request: an errno or a PASID, never a crash, never a partial entry`, async () => {
    const rnd = prng(profile === 'v1' ? 7 : 77);
    const l = await freshLedger({ profile, pasid_quota: 50 });
    setupVm(l);
    const reqs = [];
    for (let i = 0; i < 2000; i++) {
      const hex = randomBytes(rnd, Math.floor(rnd() * 40), WORDS).toString('hex');
      reqs.push({ op: 'pasid_request', container: 'c1', hex });
    }
    const before = l.head().seq;
    const outs = l.batchUntrusted(reqs);
    assertWholeBatch(l, before, outs);
    const seen = new Set<string>();
    for (const o of outs) {
      assert.ok(Number.isInteger(o.ret));
      if (o.ret < 0) {
        assert.not.match(errnoName(o.ret), /^E\?/, `a known errno: ${o.ret}`);
        assert.ok(o.reason, 'a failure names its reason');
      }
      seen.add(o.ret < 0 ? errnoName(o.ret) : 'ok');
    }
    assert.ok(seen.has('ok') && seen.has('EFAULT') && seen.has('EINVAL'), `varied outcomes: ${[...seen].join(',')}`);
    const m = l.view().vfio_mms[0]!;
    assert.ok(m.held <= m.set_quota, 'the quota held');
    l.close();
  });
}

s('random requests of the new ops: refused whole as malformed, or run whole; nothing else', async () => {
  const rnd = prng(1234);
  const l = await freshLedger({ profile: 'v7', pasid_cap_exposure: 'exposed' });
  setupVm(l);
  l.request({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: true, width: 20 } });
  const values: unknown[] = [0, 1, 2, 4, 3, 255, 256, 0x100, 0x106, 4095, 4096, -1, 1.5, 2 ** 40, 2 ** 53, '1', null, true, [], {}, 'vm1', 'c1', '0000:3b:00.0', 'zz'];
  // each op with its own fields (and, now and then, one it does not take)
  const ops: Record<string, string[]> = {
    get_info: ['container', 'argsz', 'vm'],
    vcmd_write: ['vm', 'value'],
    vcmd_read: ['vm'],
    device_add: ['group', 'bdf', 'is_vf'],
    device_remove: ['bdf'],
    config_read: ['bdf', 'offset', 'size'],
    config_write: ['bdf', 'offset', 'size', 'value'],
    pasid_free: ['container', 'min', 'max', 'pasid'],
    pasid_alloc: ['container', 'min', 'max'],
    vm_start: ['vm', 'mm', 'vccap'],
  };
  const names = Object.keys(ops);
  const small = () => Math.floor(rnd() * 40);
  const plausible: Record<string, () => unknown> = {
    vm: () => (rnd() < 0.8 ? 'vm1' : 'vm9'), container: () => 'c1', bdf: () => (rnd() < 0.8 ? '0000:3b:00.0' : '0000:3b:00.1'),
    offset: () => Math.floor(rnd() * 4200), size: () => [1, 2, 4][Math.floor(rnd() * 3)], value: small, argsz: small,
    group: () => 'g1', is_vf: () => rnd() < 0.5, min: small, max: small, pasid: small, vccap: () => Math.floor(rnd() * 2), mm: () => 'm9',
  };
  let ran = 0;
  let refused = 0;
  for (let i = 0; i < 1500; i++) {
    const op = names[Math.floor(rnd() * names.length)]!;
    const req: Record<string, unknown> = { op };
    for (const f of [...ops[op]!, ...(rnd() < 0.05 ? ['hex'] : [])]) {
      if (rnd() < 0.1) continue;
      req[f] = rnd() < 0.6 && f in plausible ? plausible[f]!() : values[Math.floor(rnd() * values.length)];
    }
    const before = l.head().seq;
    try {
      const out = l.requestUntrusted(req);
      assertWhole(l, before, out);
      ran++;
    } catch (e) {
      assert.instance(e, RequestError, `${JSON.stringify(req)}: ${(e as Error).message}`);
      assert.is(l.head().seq, before, 'a malformed request writes nothing');
      refused++;
    }
  }
  assert.ok(ran > 20 && refused > 100, `both kinds seen: ran ${ran}, refused ${refused}`);
  l.close();
});

s.run();
