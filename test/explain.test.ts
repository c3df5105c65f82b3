import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ReplayError } from '../src/replay/errors.js';
import { explain, type RequestExplanation } from '../src/replay/explain.js';
import type { PasidFacts, VmLifecycleFacts } from '../src/replay/explain/types.js';
import { closedStory, type Story } from './replay_story.js';

const s = suite('explain');
let story: Story;
let db: Database.Database;
let entries: Array<Record<string, unknown>>;

s.before(async () => {
  ({ story, db, entries } = await closedStory());
});
s.after(() => { db.close(); });

const seqOf = (reason: string, nth = 0) => story.outcomes.filter((o) => o.out.reason === reason)[nth]!.out.seq;
const req = (seq: number) => {
  const x = explain(db, seq);
  assert.is(x.type, 'request');
  // The suites read facts of several op families: the union's members, all optional.
  return x as RequestExplanation & { type: 'request'; facts: Partial<PasidFacts & VmLifecycleFacts> };
};

s('a quota_exhausted ALLOC: the errno, the reason, and the vfio_mm at its quota just before', () => {
  const x = req(seqOf('quota_exhausted'));
  assert.is(x.ret, -14);
  assert.is(x.errno, 'EFAULT');
  assert.is(x.reason, 'quota_exhausted');
  assert.is(x.vm, 'vm1');
  const m = x.facts.vfio_mm as { vfio_mm: number; held: number; quota: number; set_quota: number; refs: number };
  assert.equal([m.vfio_mm, m.held, m.quota, m.set_quota, m.refs], [1, 4, 4, 4, 2]);
  assert.is(x.facts.quota_left, 0);
  assert.equal(x.facts.range, { min: 1, max: 0xfffff });
  assert.is(x.facts.lowest_free, 5);
  assert.equal(x.transitions, []);
  assert.match(x.why, /vfio_mm #1 \(mm 0x1000, gen 1, refs 2\) held 4 PASIDs; its set allows 4/);
  assert.match(x.summary, /pasid_alloc by vm1 .* → ret -14 \(EFAULT\), reason quota_exhausted/);
});

s('the facts are from the state just before the entry, not after it', () => {
  const x = req(seqOf('pasid_zero'));
  // PASID 0 was free before this ALLOC (it is held after it: the quirk).
  assert.is(x.facts.lowest_free, 0);
  assert.is((x.facts.vfio_mm as { held: number }).held, 0);
  assert.equal(x.transitions.map((t) => `${t.machine}.${t.event}`), ['pasid.ALLOC']);
});

s("a failed lazy quota adjust is among the facts of the ALLOC that ran it", () => {
  const seq = entries.find((e) => e.event === 'QUOTA_ADJUST' && e.ret !== 0)!.cause as number;
  const x = req(seq);
  assert.equal(x.facts.quota_adjust, { quota: 6, set_quota: 4, old_set_quota: 4, ret: -28, errno: 'ENOSPC' });
  assert.is(x.facts.pasid_quota, 6);
  assert.match(x.why, /adjusting the set to 6 failed \(-28 ENOSPC\), it keeps limit 4/);
});

s('a FREE names the owner of the PASID (another vfio_mm), or that it is not allocated', () => {
  const notOwner = req(seqOf('not_owner'));
  assert.is(notOwner.errno, 'EACCES');
  assert.is(notOwner.facts.pasid, 5);
  assert.equal(notOwner.facts.owner, { vfio_mm: 2, mm: '0x2000' });
  assert.is((notOwner.facts.vfio_mm as { vfio_mm: number }).vfio_mm, 1);
  const notAlloc = req(seqOf('not_allocated'));
  assert.is(notAlloc.facts.owner, null);
  assert.match(notAlloc.why, /PASID 999 is not allocated/);
});

s('a raw struct is decoded for its facts; a refused one says why', () => {
  const raw = story.outcomes.find((o) => o.req.op === 'pasid_request' && o.out.ret === 0)!.out.seq;
  assert.equal(req(raw).facts.ask, { op: 'alloc', min: 1, max: 0xfffff });
  const short = req(seqOf('short_buffer'));
  assert.equal(short.facts.ask, { op: 'invalid', reason: 'short_buffer' });
});

s('no vfio_mm, no domain, a handed-over fd: the container facts tell', () => {
  const noMm = req(seqOf('no_vfio_mm'));
  assert.is((noMm.facts.container as { vfio_mm: number | null }).vfio_mm, null);
  assert.is(noMm.facts.vfio_mm, null);
  const noDomain = req(seqOf('no_domain'));
  assert.is((noDomain.facts.container as { iommu_domain: boolean }).iommu_domain, false);
  const handed = story.outcomes.find((o) => o.req.op === 'pasid_alloc' && (o.req as { vm?: string }).vm === 'vm3')!.out.seq;
  const h = req(handed);
  assert.is(h.vm, 'vm3');
  assert.equal(h.facts.caller, { vm: 'vm3', mm: '0x3000', state: 'running', containers: ['c4', 'c6'] });
  assert.is((h.facts.container as { vm: string }).vm, 'vm1');
});

s('other ops: vm exit lists what it tears down; set_pasid_quota the old value and actor', () => {
  const exit = story.outcomes.find((o) => o.req.op === 'vm_exit' && o.out.ret === 0)!.out.seq;
  const x = req(exit);
  assert.is((x.facts.vm as { state: string }).state, 'running');
  assert.ok((x.facts.open_containers as unknown[]).length >= 1);
  assert.ok(x.transitions.some((t) => t.machine === 'vfio_mm' && t.event === 'RELEASE'));
  const q = req(story.outcomes.find((o) => o.req.op === 'set_pasid_quota' && o.out.ret === 0)!.out.seq);
  assert.equal(q.facts, { profile: 'v1', pasid_quota: 4, value: 6, actor: 'admin' });
});

s('a transition is explained by the request that caused it', () => {
  const t = entries.find((e) => e.machine === 'vfio_mm' && e.event === 'RELEASE')!;
  const x = explain(db, t.seq as number);
  assert.is(x.type, 'transition');
  if (x.type !== 'transition') return;
  assert.is(x.cause!.seq, t.cause);
  assert.is(x.cause!.op, 'vm_crash');
  assert.match(x.summary, new RegExp(`vfio_mm RELEASE live → released .* caused by seq ${t.cause}: vm_crash by vm2`));
});

s('the configuration entry, and a seq the log does not have', () => {
  const c = explain(db, 1);
  assert.is(c.type, 'config');
  assert.match(c.type === 'config' ? c.summary : '', /pasid_quota 4/);
  assert.throws(() => explain(db, entries.length + 1), (e: unknown) => e instanceof ReplayError);
});

s.run();
