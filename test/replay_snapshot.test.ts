import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { serialize } from 'node:v8';
import { openLedger } from '../src/ledger.js';
import type { HostState } from '../src/model/state.js';
import { viewState } from '../src/model/view.js';
import { replayTo, type ReplayOptions } from '../src/replay/replay_to.js';
import { SnapshotCache } from '../src/snapshot/cache.js';
import { decodeState, encodeState, SNAPSHOT_FORMAT } from '../src/snapshot/codec.js';
import { openSource } from '../src/replay/source.js';
import { SnapshotStore } from '../src/store/snapshots.js';
import { copyLog } from './tamper.js';
import { freshLedger, setupVm } from './helpers.js';
import { writeStory, type Story } from './replay_story.js';

const s = suite('snapshots');
let story: Story;

s.before(async () => {
  story = await writeStory();
  story.ledger.close();
});

/** A copy of the story with a snapshot every 50 entries, written by a replay to the end. */
function withSnapshots(): string {
  const path = copyLog(story.path);
  const db = new Database(path);
  const { log, config } = openSource(db);
  const cache = new SnapshotCache(log, config, 50);
  cache.advance(cache.restore());
  assert.is(cache.stats.saved, Math.floor(log.head().seq / 50));
  db.close();
  return path;
}

const stats = (): NonNullable<ReplayOptions['stats']> => ({ restoredFrom: 0, rowsRead: 0, dropped: 0, saved: 0 });

s('the codec round-trips a state, including fields it does not know about', async () => {
  const l = await freshLedger({ pasid_quota: 50 });
  setupVm(l);
  for (let i = 0; i < 40; i++) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.request({ op: 'pasid_free', container: 'c1', pasid: 7 });
  const st = l.state;
  // A field another part of the model may add later (plain data: Maps, Sets, objects).
  const extended = { ...st, later_field: new Map([['0000:00:01.0', { bdf: '0000:00:01.0', pasids: new Set([3]) }]]) };
  const back = decodeState(encodeState(extended as unknown as HostState), st.config, st.seq) as unknown as typeof extended | null;
  assert.ok(back);
  assert.equal(viewState(back!), viewState(st));
  assert.equal(back!.later_field.get('0000:00:01.0')!.pasids, new Set([3]));
  assert.equal(back!.ids.toArray(), st.ids.toArray());
  // The allocator comes back as an allocator: lowest free is still 7.
  assert.is(back!.ids.findLowest(1, 0xfffff), 7);
  l.close();
});

s('the codec refuses garbage, another format, another config or seq, an older shape', async () => {
  const l = await freshLedger();
  setupVm(l);
  const st = l.state;
  const blob = encodeState(st);
  assert.is(decodeState(Buffer.from('not a snapshot'), st.config, st.seq), null);
  assert.is(decodeState(blob.subarray(0, blob.length >> 1), st.config, st.seq), null);
  assert.is(decodeState(blob, { ...st.config, pasid_quota: 7 }, st.seq), null);
  assert.is(decodeState(blob, st.config, st.seq + 1), null);
  const { ids, mmGen: _dropped, ...older } = st;
  assert.is(decodeState(serialize({ format: SNAPSHOT_FORMAT, state: { ...older, ids: Uint32Array.from(ids.toArray()) } }), st.config, st.seq), null);
  assert.is(decodeState(serialize({ format: 'pasid-ledger-snapshot/0', state: { ...st, ids: Uint32Array.from(ids.toArray()) } }), st.config, st.seq), null);
  assert.ok(decodeState(blob, st.config, st.seq));
  l.close();
});

s('a valid snapshot is used: a replay reads only the entries after it, and equals a full replay', () => {
  const path = withSnapshots();
  const db = new Database(path);
  const st = stats();
  const fromSnap = replayTo(db, { seq: 237 }, { stats: st });
  assert.is(st.restoredFrom, 200);
  assert.is(st.rowsRead, 37);
  assert.equal(viewState(fromSnap), viewState(replayTo(new Database(story.path), { seq: 237 })));
  // At a snapshot's own seq nothing is read.
  const at = stats();
  replayTo(db, { seq: 300 }, { stats: at });
  assert.is(at.rowsRead, 0);
  db.close();
});

s('a snapshot whose chain does not match the log is ignored and dropped', () => {
  const path = withSnapshots();
  const db = new Database(path);
  db.prepare("UPDATE snapshots SET chain = 'ff' || substr(chain, 3) WHERE seq = 200").run();
  const st = stats();
  const v = viewState(replayTo(db, { seq: 237 }, { stats: st }));
  assert.is(st.dropped, 1);
  assert.is(st.restoredFrom, 150);
  assert.is(st.rowsRead, 87);
  assert.equal(v, viewState(replayTo(new Database(story.path), { seq: 237 })));
  assert.not.ok(new SnapshotStore(db).list().some((x) => x.seq === 200), 'the bad snapshot is gone');
  db.close();
});

s('a snapshot whose blob is garbage is ignored and dropped', () => {
  const path = withSnapshots();
  const db = new Database(path);
  db.prepare('UPDATE snapshots SET state = ? WHERE seq >= 200').run(Buffer.from('garbage'));
  const st = stats();
  const v = viewState(replayTo(db, { seq: 320 }, { stats: st }));
  assert.is(st.dropped, 3); // 200, 250 and 300
  assert.is(st.restoredFrom, 150);
  assert.equal(v, viewState(replayTo(new Database(story.path), { seq: 320 })));
  db.close();
});

s('replay writes a snapshot at each multiple of the interval it passes', () => {
  const path = copyLog(story.path);
  const db = new Database(path);
  const { log, config } = openSource(db);
  const cache = new SnapshotCache(log, config, 100);
  cache.advance(cache.restore(250), 250);
  assert.equal(new SnapshotStore(db).list().map((x) => x.seq), [100, 200]);
  // The snapshot at 200 holds the state after entry 200, with the chain of entry 200.
  const snap = new SnapshotStore(db).latestAtOrBefore(200)!;
  assert.is(snap.chain, log.row(200)!.chain);
  assert.equal(viewState(decodeState(snap.state, config, 200)!), viewState(replayTo(new Database(story.path), { seq: 200 })));
  db.close();
});

s('a read-only handle replays without writing snapshots', () => {
  const db = new Database(story.path, { readonly: true });
  const { log, config } = openSource(db);
  const cache = new SnapshotCache(log, config, 50);
  cache.advance(cache.restore());
  assert.is(cache.stats.saved, 0);
  assert.is(cache.stats.rowsRead, log.head().seq);
  db.close();
});

s('the ledger snapshots at close after 10,000 entries, and its next open starts from that snapshot', async () => {
  const l = await freshLedger({ pasid_quota: 6000 });
  setupVm(l);
  const path = l.label;
  const reqs = [];
  for (let i = 0; i < 5000; i++) reqs.push({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.batchUntrusted(reqs);
  const head = l.head().seq;
  const view = l.view();
  l.close();
  const db = new Database(path);
  const snaps = new SnapshotStore(db).list();
  assert.equal(snaps.map((x) => x.seq), [head]);
  // Prove the open uses it: plant a state with a marker vm under the right chain.
  const snap = new SnapshotStore(db).latestAtOrBefore(head)!;
  const planted = decodeState(snap.state, openSource(db).config, head)!;
  planted.vms.set('planted', { ...planted.vms.get('vm1')!, vm: 'planted', containers: [] });
  new SnapshotStore(db).save(head, snap.chain, encodeState(planted));
  db.close();
  const reopened = await openLedger(path);
  assert.ok(reopened.view().vms.some((v) => v.vm === 'planted'), 'the state came from the snapshot');
  reopened.close();
  // A snapshot that no longer matches the chain is ignored at open: the state is the log's.
  const db2 = new Database(path);
  db2.prepare("UPDATE snapshots SET chain = 'x'").run();
  db2.close();
  const honest = await openLedger(path);
  assert.equal(honest.view(), view);
  assert.is(new SnapshotStore(honest.db).list().length, 0, 'the stale snapshot was dropped');
  // Its close rebuilds it: the open evolved the whole log again.
  honest.close();
  const db3 = new Database(path);
  assert.equal(new SnapshotStore(db3).list().map((x) => x.seq), [head]);
  db3.close();
  // Fewer than 10,000 entries evolved since: close writes none.
  const again = await openLedger(path);
  again.request({ op: 'pasid_free', container: 'c1', pasid: 1 });
  again.close();
  const db4 = new Database(path);
  assert.equal(new SnapshotStore(db4).list().map((x) => x.seq), [head]);
  db4.close();
});

s.run();
