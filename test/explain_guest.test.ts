import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { PasidCapExposure, Profile } from '../src/model/types.js';
import { explain, type RequestExplanation } from '../src/replay/explain.js';
import type { PasidFacts, VmLifecycleFacts } from '../src/replay/explain/types.js';
import {
  ENABLE_DROPPED_SENTENCE, type ConfigAccessView, type GetInfoView, type VcmdReadView, type VcmdWriteView,
} from '../src/replay/guest_view.js';
import * as u from '../src/uapi/index.js';
import { guestStory, PF, PF_PASID, type GuestStory } from './guest_story.js';
import { CLI } from './helpers.js';

const s = suite('explain: the guest view');
const stories = new Map<string, GuestStory>();
const VARIANTS: Array<[Profile, PasidCapExposure]> = [['v1', 'hidden'], ['v1', 'exposed'], ['v7', 'hidden'], ['v7', 'exposed']];

s.before(async () => {
  for (const [p, x] of VARIANTS) stories.set(`${p} ${x}`, await guestStory(p, x));
});
s.after(() => { for (const st of stories.values()) st.ledger.close(); });

const req = (st: GuestStory, name: string) => {
  const x = explain(st.ledger, st.out(name).seq);
  assert.is(x.type, 'request');
  // The suites read facts of several op families: the union's members, all optional.
  return x as RequestExplanation & { type: 'request'; facts: Partial<PasidFacts & VmLifecycleFacts> };
};
const vcmd = (st: GuestStory, name: string) => req(st, name).guest as VcmdWriteView;
const cfg = (st: GuestStory, name: string) => req(st, name).guest as ConfigAccessView;

for (const [profile, exposure] of VARIANTS) {
  const key = `${profile} ${exposure}`;
  const st = () => stories.get(key)!;

  s(`${key}: a guest ALLOC: the command, the walk over vm1's containers with each try, the VCRSP decoded`, () => {
    const x = req(st(), 'alloc 1');
    assert.is(x.value, 0x100);
    const g = x.guest as VcmdWriteView;
    assert.equal(g.wrote, { value: 1, hex: '0x1', cmd: 1, command: 'ALLOC', operand: null });
    assert.equal(g.viommu, { vm: 'vm1', vccap: 1, pas: true, vcrsp: 0, state: 'ready' }, 'the registers just before');
    const first = profile === 'v1' ? { ret: -u.EFAULT, errno: 'EFAULT', reason: 'no_domain' } : { ret: -u.EOPNOTSUPP, errno: 'EOPNOTSUPP', reason: 'no_vfio_mm' };
    assert.equal(g.tries, [
      { container: 'c1', ...first, pasid: null },
      { container: 'c2', ret: profile === 'v1' ? 0 : 1, errno: null, reason: null, pasid: 1 },
    ]);
    assert.equal(g.walk.map((w) => [w.container, w.takes_pasid_requests, w.tried]), [['c1', true, true], ['t1', false, false], ['c2', true, true]]);
    assert.equal(g.saw, { vcrsp: 0x100, hex: '0x100', in_progress: false, status: 0, status_name: 'success', pasid: 1, result: 1 });
    assert.is(g.dropped, null);
    assert.ok(g.said.includes('the guest wrote VCMD 0x1: ALLOC'), g.said.join('\n'));
    assert.match(g.said.join('\n'), new RegExp(`QEMU asked c1 \\(${first.ret} ${first.errno} ${first.reason}\\), then c2 \\(ret ${profile === 'v1' ? 0 : 1}, PASID 1\\)`));
    assert.match(g.said.join('\n'), /not asked: t1 \(VFIO_TYPE1v2_IOMMU, not NESTING\)/);
    assert.match(x.why, /the guest reads VCRSP 0x100: status 0 \(success\), PASID 1/);
  });

  s(`${key}: quota spent at c2: status 2 (no PASID available); the read that follows names the write that left it`, () => {
    const g = vcmd(st(), 'alloc 3');
    assert.equal(g.tries.map((t) => [t.container, t.reason]), [['c1', profile === 'v1' ? 'no_domain' : 'no_vfio_mm'], ['c2', 'quota_exhausted']]);
    assert.equal([g.saw!.status, g.saw!.status_name, g.saw!.pasid], [2, 'no_pasid_available', null]);
    const r = req(st(), 'read vcrsp');
    const rv = r.guest as VcmdReadView;
    assert.is(rv.kind, 'vcmd_read');
    assert.is(rv.saw!.status_name, 'no_pasid_available');
    assert.is(rv.left_by, st().out('alloc 3').seq);
    assert.match(r.why, new RegExp(`left by the vcmd_write at seq ${st().out('alloc 3').seq} \\(command 1\\)`));
  });

  s(`${key}: FREE of a PASID nobody holds: v1 says invalid PASID, v7's range FREE "succeeds"`, () => {
    const g = vcmd(st(), 'free 999');
    assert.equal([g.wrote.command, g.wrote.operand], ['FREE', 999]);
    if (profile === 'v1') {
      assert.equal(g.saw!.status_name, 'invalid_pasid');
      assert.equal(g.tries.map((t) => t.errno), ['EFAULT', 'ENOENT']);
    } else {
      assert.equal(g.saw!.status_name, 'success');
      assert.equal(g.tries.at(-1), { container: 'c2', ret: 0, errno: null, reason: 'none_owned', pasid: null });
    }
    assert.ok(g.said.includes('the guest wrote VCMD 0x3e702: FREE of PASID 999'), g.said.join('\n'));
  });

  s(`${key}: an undefined command, and a write dropped because VCCAP lacks PAS`, () => {
    const und = vcmd(st(), 'undefined');
    assert.equal([und.wrote.command, und.tries, und.saw!.status, und.saw!.status_name], ['undefined', [], 1, 'undefined_command']);
    const drop = req(st(), 'no pas');
    const g = drop.guest as VcmdWriteView;
    assert.is(g.dropped, 'dropped_no_pas');
    assert.equal(g.viommu, { vm: 'vm2', vccap: 0, pas: false, vcrsp: 0, state: 'ready' });
    assert.equal(drop.transitions, []);
    assert.match(drop.why, /VCCAP 0x0 lacks PAS \(bit 0\): QEMU dropped the write/);
  });

  s(`${key}: the guest writes PASID Enable on the PF: ${exposure === 'exposed' ? 'dropped (read-only capability)' : 'raw to the hardware (hidden)'}`, () => {
    const x = req(st(), 'enable');
    const g = x.guest as ConfigAccessView;
    assert.equal([g.bdf, g.offset, g.size], [PF, PF_PASID + 6, 2]);
    assert.equal(g.wrote, { value: 1, hex: '0x1', pasid_ctrl: { enable: true, exec: false, priv: false } });
    assert.is(g.device!.pasid_view, exposure);
    assert.is(g.access!.pasid_cap, exposure);
    assert.equal(g.access!.pasid_registers, ['control']);
    if (exposure === 'exposed') {
      assert.is(g.dropped, 'pasid_enable_dropped');
      assert.ok(g.said.includes(ENABLE_DROPPED_SENTENCE));
      assert.ok(x.why.includes(ENABLE_DROPPED_SENTENCE), x.why);
      assert.equal(g.access!.chunks.map((c) => [c.region, c.handling]), [['capability', 'dropped: the capability is read-only to the guest']]);
      assert.equal([g.raw, g.pasid_ctrl_after], [[], null]);
      assert.equal(x.transitions, []);
    } else {
      assert.is(g.dropped, null);
      assert.not.ok(x.why.includes(ENABLE_DROPPED_SENTENCE));
      assert.equal(g.access!.chunks.map((c) => c.region), ['unclaimed']);
      assert.equal(g.raw, [{ offset: PF_PASID + 6, hex: '0100' }]);
      assert.is(g.pasid_ctrl_after, 1);
      assert.match(x.why, /hidden, so its bytes are unclaimed: vfio-pci wrote them raw to the hardware \(a mainline quirk\); the hardware's PASID control is now 0x1 \(enabled\)/);
    }
    // Execute alone is not an enable: never the enable sentence.
    const exec = req(st(), 'exec only');
    assert.not.ok(exec.why.includes(ENABLE_DROPPED_SENTENCE));
    assert.is((exec.guest as ConfigAccessView).dropped, exposure === 'exposed' ? 'pasid_cap_read_only' : null);
    // The VF's capability is hidden whatever the policy.
    const vf = cfg(st(), 'vf enable');
    assert.equal([vf.device!.pasid_view, vf.access!.pasid_cap, vf.dropped], ['hidden', 'hidden', null]);
  });

  s(`${key}: reads: the header the guest finds, and where it came from`, () => {
    const aer = cfg(st(), 'read aer');
    assert.equal(aer.saw!.header, { id: 1, version: 1, next: exposure === 'exposed' ? PF_PASID : 0x160 });
    assert.is(aer.access!.pasid_cap, 'elsewhere');
    const hdr = cfg(st(), 'read pasid hdr');
    assert.equal(hdr.saw!.header, { id: 0x1b, version: 1, next: 0x160 });
    assert.equal(hdr.access!.chunks[0]!.region, exposure === 'exposed' ? 'capability' : 'unclaimed');
    assert.match(hdr.access!.chunks[0]!.handling, exposure === 'exposed' ? /virtualised copy/ : /raw from the hardware/);
    const past = req(st(), 'read past');
    assert.is(past.errno, 'EFAULT');
    assert.is((past.guest as ConfigAccessView).access!.in_config_space, false);
    assert.match(past.why, /past the function's 4096-byte config space/);
    const other = cfg(st(), 'write aer');
    assert.is(other.dropped, 'read_only_capability');
  });

  s(`${key}: GET_INFO: the capability chain decoded`, () => {
    const g = req(st(), 'info c2').guest as GetInfoView;
    if (profile === 'v1') {
      assert.equal(g.caps, [{ id: 2, name: 'VFIO_IOMMU_TYPE1_INFO_CAP_NESTING', version: 1, offset: 24, next: 0, nesting_capabilities: 1, nesting_flags: ['VFIO_IOMMU_PASID_REQS'] }]);
      const c4 = req(st(), 'info c4');
      assert.is(c4.reason, 'pasid_reqs_without_vfio_mm');
      assert.match(c4.why, /claims VFIO_IOMMU_PASID_REQS, but container c4 has no vfio_mm/);
    } else {
      assert.equal(g.caps, []);
      assert.match(g.said.join('\n'), /v7 reports nesting through iommu_nesting_info \(cap id 3\)/);
      assert.is(g.info!.pasid_reqs, true);
    }
  });
}

for (const profile of ['v1', 'v7'] as Profile[]) {
  s(`${profile}: PASID requests: PASID 0, above the width, and the range FREE`, () => {
    const st = stories.get(`${profile} hidden`)!;
    const zero = req(st, 'zero');
    const wide = req(st, 'wide');
    assert.match(wide.why, profile === 'v7' ? /above the 20-bit width: v7 checks max only against 1 << 31/ : /above the 20-bit width: v1 does not check max against the width/);
    const free = req(st, 'range free');
    if (profile === 'v7') {
      assert.match(zero.why, /v7 does not refuse PASID 0/);
      assert.equal(zero.facts.v7_range_ok, true);
      assert.equal(free.facts.freed, [0, 0x7fffff00]);
      assert.is(free.facts.owned_in_range, 2);
      // vm1 still holds PASID 2 (its FREE of 1 went through): v7 leaves it alone.
      assert.is(free.facts.held_by_others_in_range, 1);
      assert.match(free.why, /v7 FREE of \[0, 2147483648\] freed the 2 PASID\(s\) this vfio_mm held there \(0, 2147483392\) and ignored 1 held by others/);
    } else {
      assert.not.match(zero.why, /v7/);
      assert.is(free.reason, 'v7_ioctl');
      assert.is(free.facts.freed, undefined);
    }
  });
}

s('CLI: explain --json carries the guest view; the text shows it; a VCMD_DONE explains its write', () => {
  const st = stories.get('v1 exposed')!;
  const run = (seq: number, json: boolean) => spawnSync('node', [CLI, 'explain', '--db', st.path, '--seq', String(seq), ...(json ? ['--json'] : [])], { encoding: 'utf8' });
  const j = run(st.out('enable').seq, true);
  assert.is(j.status, 0, j.stderr);
  const x = JSON.parse(j.stdout) as RequestExplanation;
  assert.is(x.guest!.kind, 'config_write');
  assert.is((x.guest as ConfigAccessView).dropped, 'pasid_enable_dropped');
  const t = run(st.out('enable').seq, false);
  assert.ok(t.stdout.includes(`    ${ENABLE_DROPPED_SENTENCE}`), t.stdout);
  assert.match(t.stdout, /chunk 0x14e\/2: capability \(PASID control\): dropped/);
  const alloc = st.out('alloc 1').seq;
  const w = run(alloc, false);
  assert.match(w.stdout, /containers of the vm, in open order:\n\s+c1 .*asked: ret -14 \(EFAULT\) no_domain\n\s+t1 .*not asked\n\s+c2 .*asked: ret 0 pasid 1/);
  // The VCMD_DONE transition is the third the write caused.
  const done = run(alloc + 3, false);
  assert.match(done.stdout, /viommu VCMD_DONE in_progress → ready/);
  assert.match(done.stdout, /the guest's side:\n\s+the guest wrote VCMD 0x1: ALLOC/);
});

s.run();
