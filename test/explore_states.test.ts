import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ExploreCharts } from '../src/explore/charts.js';
import { StateIndex } from '../src/explore/states.js';
import type { HostState } from '../src/model/state.js';
import { viewState } from '../src/model/view.js';
import { replayTo } from '../src/replay/replay_to.js';
import { openSource } from '../src/replay/source.js';
import { openDatabase } from '../src/store/open.js';
import { guestStory } from './guest_story.js';
import { writeStory } from './replay_story.js';

const s = suite('explore_states');

/** Everything a state holds, as comparable data (the allocator as its ids). */
function dump(st: HostState): unknown {
  const { ids, ...rest } = st;
  return { ...rest, ids: ids.toArray() };
}

/** The state at every seq, forwards, backwards and jumping, against a replay from the log. */
function checkEverySeq(path: string, every: number): number {
  const db = openDatabase(path, { readonly: true });
  try {
    const { log, config } = openSource(db);
    const idx = new StateIndex(log, config, every);
    const head = log.head().seq;
    const order = [...Array.from({ length: head }, (_, i) => i + 1), ...Array.from({ length: head }, (_, i) => head - i), 1, head, Math.ceil(head / 2), 2];
    for (const seq of order) {
      const st = { from: -1, evolved: -1, ms: -1 };
      const got = idx.at(seq, st);
      assert.equal(dump(got), dump(replayTo(db, { seq })), `seq ${seq}`);
      assert.ok(st.evolved < every, `seq ${seq}: ${st.evolved} entries evolved`);
    }
    // copyAt hands out a state of its own: evolving it leaves the index's answers alone.
    const copy = idx.copyAt(3);
    copy.pasidQuota = -1;
    assert.is.not(idx.at(3).pasidQuota, -1);
    return head;
  } finally {
    db.close();
  }
}

s('v1 story (vms crash and exit, a shared vfio_mm, quota changes): every seq restores to the replayed state', async () => {
  const story = await writeStory();
  story.ledger.close();
  assert.ok(checkEverySeq(story.path, 5) > 100);
});

for (const profile of ['v1', 'v7'] as const) {
  s(`${profile} guest story (devices, config space, vIOMMU registers): every seq restores to the replayed state`, async () => {
    const g = await guestStory(profile, 'exposed');
    g.ledger.close();
    checkEverySeq(g.path, 4);
  });
}

s('charts folded from the index\'s pass agree with the states at each bucket\'s end', async () => {
  const story = await writeStory();
  story.ledger.close();
  const db = openDatabase(story.path, { readonly: true });
  try {
    const { log, config } = openSource(db);
    const head = log.head().seq;
    const idx = new StateIndex(log, config, 10);
    const charts = new ExploreCharts(head, config.capacity);
    idx.onBuild = (st, e) => charts.entry(st, e);
    idx.build(head);
    for (const row of log.range(idx.builtTo, head)) {
      // The tail past the last kept state, as the API folds it.
      const st = replayTo(db, { seq: row.seq });
      charts.entry(st, JSON.parse(row.entry));
    }
    const v = charts.view();
    assert.is(v.seq.length, head, 'a short log has one bucket per entry');
    for (let b = 0; b < v.seq.length; b++) {
      const at = replayTo(db, { seq: v.seq[b]! });
      assert.is(v.capacity_avail[b], at.capacityAvail, `capacity after seq ${v.seq[b]}`);
      for (const h of v.held) {
        const mine = viewState(at, h.vm).vfio_mms.find((m) => m.mm === at.vms.get(h.vm)?.mm && at.liveByMm.get(m.mm) === m.vfio_mm);
        assert.is(h.points[b]!.held, mine?.held ?? 0, `${h.vm} after seq ${v.seq[b]}`);
      }
    }
    const denied = v.denials.reduce((n, d) => n + d.counts.reduce((a, c) => a + c, 0), 0);
    const refused = (db.prepare("SELECT count(*) AS n FROM entries WHERE type = 'request' AND json_extract(entry, '$.ret') < 0").get() as { n: number }).n;
    assert.ok(refused > 0);
    assert.is(denied, refused);
  } finally {
    db.close();
  }
});

s.run();
