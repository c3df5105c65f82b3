import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Entry, PasidCapExposure, Profile } from '../src/model/types.js';
import { timeline, type Timeline } from '../src/replay/timeline.js';
import { guestStory, PF, PF_PASID, VF, type GuestStory } from './guest_story.js';
import { CLI } from './helpers.js';

const s = suite('timeline: vcmd and config accesses, --bdf');
const stories = new Map<string, GuestStory>();
const VARIANTS: Array<[Profile, PasidCapExposure]> = [['v1', 'hidden'], ['v1', 'exposed'], ['v7', 'hidden'], ['v7', 'exposed']];
const GUEST_OPS = new Set(['vcmd_write', 'vcmd_read', 'config_read', 'config_write']);

s.before(async () => {
  for (const [p, x] of VARIANTS) {
    const st = await guestStory(p, x);
    // The VF is unplugged and plugged again: two lives.
    st.issued.push({ name: 'vf remove', req: { op: 'device_remove', bdf: VF }, out: st.ledger.request({ op: 'device_remove', bdf: VF }) });
    st.issued.push({ name: 'vf again', req: { op: 'device_add', group: 'g2', bdf: VF, is_vf: true }, out: st.ledger.request({ op: 'device_add', group: 'g2', bdf: VF, is_vf: true }) });
    stories.set(`${p} ${x}`, st);
  }
});
s.after(() => { for (const st of stories.values()) st.ledger.close(); });

const seqs = (es: Entry[]) => es.map((e) => e.seq);
const reqSeqs = (t: Timeline) => t.entries.filter((e) => e.type === 'request').map((e) => e.seq);

for (const [profile, exposure] of VARIANTS) {
  const key = `${profile} ${exposure}`;
  const st = () => stories.get(key)!;

  s(`${key}: --vm includes the vm's virtual commands and config accesses, with their transitions`, async () => {
    const t = await timeline(st().ledger, { vm: 'vm1' });
    // vm1 opened c2, which holds the functions' group: every config access is charged to it.
    const guestSeqs = st().issued.filter((i) => GUEST_OPS.has(i.req.op) && (i.req.op.startsWith('config') || (i.req as { vm: string }).vm === 'vm1')).map((i) => i.out.seq);
    for (const seq of guestSeqs) assert.ok(reqSeqs(t).includes(seq), `request ${seq} is in vm1's timeline`);
    const viommu = t.entries.filter((e) => e.type === 'transition' && e.machine === 'viommu');
    const writes = st().issued.filter((i) => i.req.op === 'vcmd_write' && (i.req as { vm: string }).vm === 'vm1');
    assert.is(viommu.length, 2 * writes.length, 'a START and a DONE per accepted write');
    const raw = t.entries.filter((e) => e.type === 'transition' && e.machine === 'device' && e.event === 'CONFIG_WRITE');
    const expectRaw = st().issued.filter((i) => i.out.reason === 'hidden_pasid_cap_raw_write').length;
    assert.is(raw.length, expectRaw);
    assert.not.ok(t.entries.some((e) => e.type === 'request' && e.op === 'vcmd_write' && e.req.vm === 'vm2'), "vm2's write is not vm1's");

    const g = t.guest!;
    assert.is(g.vcmd_writes, writes.length);
    const byOutcome: Record<string, number> = {};
    for (const w of writes) {
      const k = w.out.reason === null || w.out.reason === 'none_owned' ? 'success' : w.out.reason;
      byOutcome[k] = (byOutcome[k] ?? 0) + 1;
    }
    assert.equal(g.vcmd_by_outcome, byOutcome);
    assert.equal(g.vcmd_by_outcome.no_pasid_available, 1);
    assert.is(g.vcmd_by_outcome.invalid_pasid, profile === 'v1' ? 1 : undefined);
    assert.is(g.vcmd_reads, 1);
    const cfg = st().issued.filter((i) => i.req.op.startsWith('config'));
    assert.is(g.config_reads, cfg.filter((i) => i.req.op === 'config_read').length);
    assert.is(g.config_writes, cfg.filter((i) => i.req.op === 'config_write').length);
    assert.equal(g.pasid_enable_dropped, exposure === 'exposed' ? [st().out('enable').seq] : []);
    assert.equal(g.hidden_pasid_raw_writes, st().issued.filter((i) => i.out.reason === 'hidden_pasid_cap_raw_write').map((i) => i.out.seq));
    const dropped = exposure === 'exposed'
      ? { pasid_enable_dropped: 1, pasid_cap_read_only: 1, read_only_capability: 1, standard_space_not_modelled: 1 }
      : { read_only_capability: 1, standard_space_not_modelled: 1 };
    assert.equal(g.writes_dropped, dropped);
  });

  s(`${key}: --bdf: the function's adds, config accesses, raw writes; nothing of the other function`, async () => {
    const t = await timeline(st().ledger, { bdf: PF });
    const mine = st().issued.filter((i) => (i.req as { bdf?: string }).bdf === PF).map((i) => i.out.seq);
    assert.equal(reqSeqs(t), mine);
    assert.ok(t.entries.every((e) => (e.type === 'request' ? e.req.bdf : (e as { bdf?: string }).bdf) === PF));
    assert.equal(t.device_lives, [{ group: 'g2', added_seq: st().out('pf add').seq + 1, removed_seq: null, is_vf: false, pasid_view: exposure, pasid_offset: PF_PASID, exposure }]);
    assert.is(t.requests!.failed, 1, 'the read past the config space');
    if (exposure === 'hidden') {
      assert.equal(t.raw_writes!.map((w) => [w.cause, w.offsets, w.pasid_ctrl]), [
        [st().out('enable').seq, [PF_PASID + 6], 1],
        [st().out('exec only').seq, [PF_PASID + 6], 2],
      ]);
    } else {
      assert.equal(t.raw_writes, []);
      assert.equal(t.guest!.pasid_enable_dropped, [st().out('enable').seq]);
    }
    const vf = await timeline(st().ledger, { bdf: VF });
    assert.equal(vf.device_lives!.map((l) => [l.added_seq, l.removed_seq, l.pasid_view]), [
      [st().out('vf add').seq + 1, st().out('vf remove').seq + 1, 'hidden'],
      [st().out('vf again').seq + 1, null, 'absent'],
    ]);
    assert.equal(seqs(vf.entries.filter((e) => e.type === 'request')), ['vf add', 'vf enable', 'vf remove', 'vf again'].map((n) => st().out(n).seq));
    const none = await timeline(st().ledger, { bdf: '0000:00:1f.7' });
    assert.equal([none.entries, none.device_lives], [[], []]);
  });
}

s('CLI: --bdf and --vm summaries; a bad bdf is exit 2; --help says --bdf scans', () => {
  const st = stories.get('v7 exposed')!;
  const cli = (...args: string[]) => spawnSync('node', [CLI, 'timeline', '--db', st.path, ...args], { encoding: 'utf8' });
  const b = cli('--bdf', PF);
  assert.is(b.status, 0, b.stderr);
  assert.match(b.stdout, new RegExp(`bdf ${PF}: \\d+ entries`));
  assert.match(b.stdout, /added at seq \d+ in group g2: PASID capability exposed at 0x148 \(pasid_cap_exposure exposed\), present/);
  assert.match(b.stdout, new RegExp(`the guest tried to enable PASID on a read-only capability at seq ${st.out('enable').seq}: dropped, reported as success`));
  const v = cli('--vm', 'vm1');
  assert.match(v.stdout, /guest virtual commands: 6 VCMD writes \(success 4, no_pasid_available 1, undefined_command 1\), 1 VCRSP reads/);
  assert.match(v.stdout, /config accesses: 3 reads, 5 writes; writes dropped: pasid_enable_dropped 1, pasid_cap_read_only 1, read_only_capability 1, standard_space_not_modelled 1/);
  const j = cli('--bdf', VF, '--json');
  assert.is((JSON.parse(j.stdout) as Timeline).device_lives!.length, 2);
  const bad = cli('--bdf', '3b:00.0');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /not a bdf/);
  const two = cli('--bdf', PF, '--vm', 'vm1');
  assert.is(two.status, 2);
  assert.match(two.stderr, /exactly one of --vm, --pasid, --mm, --bdf/);
  const help = spawnSync('node', [CLI, 'timeline', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--bdf has no index column behind it: it scans/);
});

s.run();
