import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { viewState } from '../src/model/view.js';
import { ReplayError } from '../src/replay/errors.js';
import { replayTo } from '../src/replay/replay_to.js';
import { closedStory, type Story } from './replay_story.js';

const s = suite('replayTo');
let story: Story;
let entries: Array<Record<string, unknown>>;

s.before(async () => {
  let db: Database.Database;
  ({ story, db, entries } = await closedStory());
  db.close();
});

s('the story covers what replay must reproduce', () => {
  const reasons = new Set(story.outcomes.map((o) => o.out.reason));
  for (const r of ['quota_exhausted', 'pasid_zero', 'range_exhausted', 'not_owner', 'not_allocated', 'no_vfio_mm', 'no_domain'] as const) {
    assert.ok(reasons.has(r), `the story hits ${r}`);
  }
  const events = new Set(entries.filter((e) => e.type === 'transition').map((e) => `${e.machine}.${e.event}`));
  for (const ev of ['vm.VM_START', 'vm.VM_EXIT', 'vm.VM_CRASH', 'vfio_mm.CREATE', 'vfio_mm.GET', 'vfio_mm.PUT', 'vfio_mm.QUOTA_ADJUST', 'vfio_mm.RELEASE', 'pasid.ALLOC', 'pasid.FREE', 'module_param.SET']) {
    assert.ok(events.has(ev), `the story has ${ev}`);
  }
  assert.ok(entries.length > 300, `a few hundred entries (${entries.length})`);
});

s('a replay at every seq equals the live state the ledger had after that seq', () => {
  const db = new Database(story.path);
  let compared = 0;
  for (let seq = 1; seq <= entries.length; seq++) {
    const st = replayTo(db, { seq });
    assert.is(st.seq, seq);
    assert.is(st.at, entries[seq - 1]!.at);
    const live = story.views.get(seq);
    if (live) {
      assert.equal(viewState(st), live, `state after seq ${seq}`);
      compared++;
    }
  }
  db.close();
  // One live view per request, plus the configuration.
  assert.is(compared, story.outcomes.length + 1);
});

s('a time names the last entry at or before it; zones and precision are normalised', () => {
  const db = new Database(story.path);
  const e = entries[99]!;
  const at = e.at as string;
  assert.is(replayTo(db, { at }).seq, lastSeqAt(at));
  // One millisecond before the next second is still at or before that second's entries' time.
  const later = new Date(Date.parse(at) + 999).toISOString();
  assert.is(replayTo(db, { at: later }).seq, lastSeqAt(at));
  // The same instant written in another zone.
  const plus2 = new Date(Date.parse(at) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
  assert.is(replayTo(db, { at: plus2 }).seq, lastSeqAt(at));
  db.close();
});

s('a ledger is a source too, and --vm narrowing is viewState\'s', async () => {
  const l = await openLedger(story.path);
  const st = replayTo(l, { seq: 60 });
  assert.equal(viewState(st), story.views.get(60));
  assert.equal(viewState(st, 'vm1').vms.map((v) => v.vm), ['vm1']);
  l.close();
});

s('a seq outside the log, a malformed time, a time before the log are ReplayErrors', () => {
  const db = new Database(story.path);
  assert.throws(() => replayTo(db, { seq: 0 }), (e: unknown) => e instanceof ReplayError && /seq 0 is not in the log/.test(e.message));
  assert.throws(() => replayTo(db, { seq: entries.length + 1 }), (e: unknown) => e instanceof ReplayError && /holds entries 1 to/.test(e.message));
  assert.throws(() => replayTo(db, { at: 'yesterday' }), (e: unknown) => e instanceof ReplayError && /not an ISO-8601 time/.test(e.message));
  assert.throws(() => replayTo(db, { at: '2026-01-01T00:00:00' }), (e: unknown) => e instanceof ReplayError); // no zone
  assert.throws(() => replayTo(db, { at: '2025-12-31T23:59:59Z' }), (e: unknown) => e instanceof ReplayError && /no entry at or before/.test(e.message));
  db.close();
});

function lastSeqAt(at: string): number {
  let last = 0;
  for (const e of entries) if ((e.at as string) <= at) last = e.seq as number;
  return last;
}

s.run();
