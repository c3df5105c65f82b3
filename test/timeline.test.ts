import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { timeline } from '../src/replay/timeline.js';
import { closedStory, type Story } from './replay_story.js';

const s = suite('timeline');
let story: Story;
let db: Database.Database;
let entries: Array<Record<string, unknown>>;

s.before(async () => {
  ({ story, db, entries } = await closedStory());
});
s.after(() => { db.close(); });

s('a PASID: every ALLOC and FREE of it, each holding with its vfio_mm, mm and what freed it', async () => {
  const t = await timeline(db, { pasid: 5 });
  const allocs = entries.filter((e) => e.machine === 'pasid' && e.pasid === 5 && e.event === 'ALLOC');
  assert.is(t.holdings!.length, allocs.length);
  assert.equal(t.holdings![0], {
    vfio_mm: 2, mm: '0x2000', alloc_seq: allocs[0]!.seq, alloc_cause: allocs[0]!.cause, alloc_at: allocs[0]!.at,
    free_seq: t.holdings![0]!.free_seq, free_cause: t.holdings![0]!.free_cause, free_at: t.holdings![0]!.free_at, freed_by: 'vm_crash',
  });
  // vm2's next generation got it back; a raw FREE struct freed it once.
  assert.ok(t.holdings!.slice(1).every((h) => h.vfio_mm === 3));
  assert.ok(t.holdings!.some((h) => h.freed_by === 'pasid_request'));
  // Every entry names PASID 5: its transitions and the requests that handed it out or named it.
  assert.ok(t.entries.every((e) => (e as { pasid?: number }).pasid === 5 || (e as { req?: { pasid?: number } }).req?.pasid === 5));
  assert.ok(t.entries.some((e) => e.type === 'request' && e.reason === 'not_owner'));
});

s('PASID 0: held by the quirk until the set was destroyed', async () => {
  const t = await timeline(db, { pasid: 0 });
  assert.is(t.holdings!.length, 1);
  assert.is(t.holdings![0]!.freed_by, 'vm_crash');
});

s('an mm token: its vfio_mm generations and their PASIDs', async () => {
  const t = await timeline(db, { mm: '0x2000' });
  assert.equal(t.generations!.map((g) => [g.vfio_mm, g.gen]), [[2, 1], [3, 2]]);
  const [g1, g2] = t.generations!;
  assert.equal(g1!.allocated, [0, 5, 6]);
  assert.equal(g1!.reclaimed, [0, 5, 6]);
  assert.equal(g1!.held, []);
  assert.ok(g1!.released_seq! < g2!.created_seq);
  // The lowered quota: recorded 2, the set kept 6 (failed adjust).
  assert.equal([g2!.quota, g2!.set_quota], [2, 6]);
  assert.is(g2!.allocated.length, g2!.freed.length + g2!.reclaimed.length);
  assert.ok(t.entries.some((e) => e.type === 'transition' && e.machine === 'vm' && e.event === 'VM_START'));
});

s('a vm: its lives, its requests and how they came out, and the transitions they caused', async () => {
  const t = await timeline(db, { vm: 'vm2' });
  assert.equal(t.lives!.map((l) => l.end), ['crashed', 'exited']);
  const mine = story.outcomes.filter((o) => {
    const e = entries[o.out.seq - 1]!;
    return e.vm === 'vm2';
  });
  assert.is(t.requests!.total, mine.length);
  assert.is(t.requests!.failed, mine.filter((o) => o.out.ret < 0).length);
  assert.ok(t.requests!.by_reason.quota_exhausted! > 0);
  const crash = entries.find((e) => e.op === 'vm_crash' && e.vm === 'vm2')!;
  const caused = entries.filter((e) => e.cause === crash.seq).length;
  assert.is(t.entries.filter((e) => e.type === 'transition' && e.cause === crash.seq).length, caused);
  const vm1 = await timeline(db, { vm: 'vm1' });
  assert.not.ok(vm1.entries.some((e) => e.type === 'request' && e.vm === 'vm2'));
});

s('an unknown subject has an empty timeline', async () => {
  const t = await timeline(db, { vm: 'nobody' });
  assert.equal(t.entries, []);
  assert.equal(t.lives, []);
});

s.run();
