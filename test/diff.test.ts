import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diff } from '../src/replay/diff.js';
import { ReplayError } from '../src/replay/errors.js';
import { replayTo } from '../src/replay/replay_to.js';
import { closedStory } from './replay_story.js';

const s = suite('diff');
let db: Database.Database;
let entries: Array<Record<string, unknown>>;

s.before(async () => {
  ({ db, entries } = await closedStory());
});
s.after(() => { db.close(); });

const find = (p: (e: Record<string, unknown>) => boolean) => entries.find(p)!;

s('across a crash: the vfio_mm released with its PASIDs, the vm ended', () => {
  const crash = find((e) => e.op === 'vm_crash');
  const d = diff(db, { seq: (crash.seq as number) - 1 }, { seq: (crash.seq as number) + 20 });
  const release = find((e) => e.machine === 'vfio_mm' && e.event === 'RELEASE');
  assert.equal(d.vfio_mms.released, [{ seq: release.seq, vfio_mm: 2, mm: '0x2000', freed: 3 }]);
  assert.equal(d.vms.ended.map((v) => [v.vm, v.how]), [['vm2', 'crashed']]);
  const mm2 = d.pasids.by_vfio_mm.find((c) => c.vfio_mm === 2)!;
  assert.equal(mm2.freed, [0, 5, 6]);
  assert.is(d.pasids.free_events, 3);
});

s('net PASID changes per vfio_mm equal the two replayed states', () => {
  const [a, b] = [40, 200];
  const d = diff(db, { seq: a }, { seq: b });
  const sa = replayTo(db, { seq: a });
  const sb = replayTo(db, { seq: b });
  assert.equal(d.pasids.held, { from: sa.owner.size, to: sb.owner.size });
  for (const c of d.pasids.by_vfio_mm) {
    for (const p of c.allocated) assert.ok(sb.owner.get(p) === c.vfio_mm && sa.owner.get(p) !== c.vfio_mm);
    for (const p of c.freed) assert.ok(sa.owner.get(p) === c.vfio_mm && sb.owner.get(p) !== c.vfio_mm);
  }
  const netAlloc = d.pasids.by_vfio_mm.reduce((n, c) => n + c.allocated.length - c.freed.length, 0);
  assert.is(netAlloc, sb.owner.size - sa.owner.size);
  // Gross events include ids allocated and freed in between.
  assert.ok(d.pasids.alloc_events >= d.pasids.by_vfio_mm.reduce((n, c) => n + c.allocated.length, 0));
  assert.equal(d.capacity_avail, { from: sa.capacityAvail, to: sb.capacityAvail });
});

s('quota changes with their actor, and lazy adjusts with their result', () => {
  const d = diff(db, { seq: 1 }, { seq: entries.length });
  assert.equal(d.pasid_quota.changes.map((c) => [c.old, c.value, c.actor]), [[4, 6, 'admin'], [6, 2, 'admin'], [2, 6, 'admin']]);
  assert.ok(d.pasid_quota.adjusts.some((a) => a.ret === -28 && a.vfio_mm === 1));
  assert.ok(d.pasid_quota.adjusts.some((a) => a.ret === -22));
  assert.equal(d.vfio_mms.created.map((c) => [c.vfio_mm, c.mm, c.gen]), [[1, '0x1000', 1], [2, '0x2000', 1], [3, '0x2000', 2]]);
  assert.is(d.vms.started.length, 4);
  assert.is(d.pasids.held.to, 0);
});

s('times are moments too; from after to is an error; an empty range is no change', () => {
  const a = entries[49]!.at as string;
  const b = entries[199]!.at as string;
  const byTime = diff(db, { at: a }, { at: b });
  assert.is(byTime.from.at, a);
  assert.is(byTime.to.at, b);
  const none = diff(db, { seq: 100 }, { seq: 100 });
  assert.equal([none.pasids.alloc_events, none.pasids.by_vfio_mm.length, none.vfio_mms.created.length], [0, 0, 0]);
  assert.throws(() => diff(db, { seq: 200 }, { seq: 100 }), (e: unknown) => e instanceof ReplayError && /is after/.test(e.message));
});

s.run();
