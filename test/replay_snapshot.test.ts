import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { viewState } from '../src/model/view.js';
import { replayTo, type ReplayOptions } from '../src/replay/replay_to.js';
import { SnapshotCache } from '../src/snapshot/cache.js';
import { decodeState, encodeState, stateDigest } from '../src/snapshot/codec.js';
import { openSource } from '../src/replay/source.js';
import { SnapshotStore } from '../src/store/snapshots.js';
import { copyLog } from './tamper.js';
import { verifyReplay } from '../src/replay/verify_replay.js';
import { auditJson, Crafter, firstBreaks } from './audit_craft.js';
import { freshLedger, setupVm, steppingClock, tmpDb } from './helpers.js';

const s = suite('snapshots');

const stats = (): NonNullable<ReplayOptions['stats']> => ({ restoredFrom: 0, rowsRead: 0, dropped: 0, saved: 0 });

/** A log of a few hundred entries whose ledger took a snapshot every 50 entries. */
let path: string;
let plain: string;

async function churn(snapshotEvery?: number): Promise<string> {
  const p = tmpDb();
  const l = await openLedger(p, { clock: steppingClock(), pasid_quota: 30, snapshotEvery, snapshotOnClose: snapshotEvery === undefined ? undefined : 1_000_000 });
  setupVm(l);
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  for (let i = 0; i < 120; i++) {
    l.request({ op: 'pasid_alloc', container: i % 2 ? 'c1' : 'c2', min: 1, max: 0xfffff });
    if (i % 3 === 0) l.request({ op: 'pasid_free', container: 'c1', pasid: i % 17 });
  }
  l.close();
  return p;
}

s.before(async () => {
  path = await churn(50);
  plain = await churn();
});

s('the codec round-trips a state: equal view, allocator, insertion orders', async () => {
  const l = await freshLedger({ pasid_quota: 50 });
  setupVm(l);
  for (let i = 0; i < 40; i++) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.request({ op: 'pasid_free', container: 'c1', pasid: 7 });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 100, max: 0xfffff });
  const st = l.state;
  const back = decodeState(encodeState(st), st.config, st.seq);
  assert.ok(back);
  assert.equal(viewState(back!), viewState(st));
  assert.equal(back!.ids.toArray(), st.ids.toArray());
  assert.equal([...back!.owner], [...st.owner]);
  assert.equal([...back!.vfioMms.get(1)!.pasids], [...st.vfioMms.get(1)!.pasids]);
  assert.is(back!.ids.findLowest(1, 0xfffff), 7);
  assert.ok(encodeState(back!).equals(encodeState(st)), 'the same state encodes to the same bytes');
  l.close();
});

s('the codec refuses garbage, truncation, another config or seq', async () => {
  const l = await freshLedger();
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  const st = l.state;
  const blob = encodeState(st);
  assert.is(decodeState(Buffer.from('not a snapshot'), st.config, st.seq), null);
  assert.is(decodeState(blob.subarray(0, blob.length >> 1), st.config, st.seq), null);
  assert.is(decodeState(blob.subarray(0, blob.length - 1), st.config, st.seq), null);
  assert.is(decodeState(blob, { ...st.config, pasid_quota: 7 }, st.seq), null);
  assert.is(decodeState(blob, st.config, st.seq + 1), null);
  assert.ok(decodeState(blob, st.config, st.seq));
  l.close();
});

s('the ledger takes a snapshot every N entries, each vouched for by a snapshot entry of the log', () => {
  const db = new Database(path, { readonly: true });
  const snaps = new SnapshotStore(db).list();
  assert.ok(snaps.length >= 4, `${snaps.length} snapshots`);
  const { log } = openSource(db);
  for (const sn of snaps) {
    const e = JSON.parse(log.row(sn.seq + 1)!.entry) as Record<string, unknown>;
    assert.is(e.type, 'snapshot');
    assert.is(e.of_seq, sn.seq);
    assert.is(e.digest, stateDigest(new SnapshotStore(db).latestAtOrBefore(sn.seq)!.state));
  }
  db.close();
});

s('a valid snapshot is used: a replay reads only the entries after it, and equals a full replay', () => {
  const db = new Database(path, { readonly: true });
  const snap = new SnapshotStore(db).list()[2]!.seq;
  const st = stats();
  const fromSnap = replayTo(db, { seq: snap + 10 }, { stats: st });
  assert.is(st.restoredFrom, snap);
  assert.is(st.rowsRead, 10);
  const cold = stats();
  assert.equal(viewState(fromSnap), viewState(replayTo(db, { seq: snap + 10 }, { checkChain: true, stats: cold })));
  assert.is(cold.restoredFrom, 0);
  db.close();
});

s('a snapshot whose chain does not match the log is ignored; a writer drops it, a reader does not write', () => {
  const copy = copyLog(path);
  const db = new Database(copy);
  const seqs = new SnapshotStore(db).list().map((x) => x.seq);
  const last = seqs[seqs.length - 1]!;
  db.prepare("UPDATE snapshots SET chain = 'ff' || substr(chain, 3) WHERE seq = ?").run(last);
  const st = stats();
  replayTo(db, { seq: last + 5 }, { stats: st });
  assert.is(st.dropped, 1);
  assert.is(st.restoredFrom, seqs[seqs.length - 2]);
  assert.equal(new SnapshotStore(db).list().map((x) => x.seq), seqs, 'a replay deletes nothing');
  const { log, config } = openSource(db);
  const keeper = new SnapshotCache(log, config, true);
  keeper.restore();
  assert.not.ok(new SnapshotStore(db).list().some((x) => x.seq === last), 'the writer\'s cache dropped it');
  db.close();
});

s('replay never writes: no snapshot and no entry appear on a log without any', () => {
  const copy = copyLog(plain);
  const db = new Database(copy);
  const head = openSource(db).log.head().seq;
  replayTo(db, { seq: head });
  assert.is(new SnapshotStore(db).list().length, 0);
  assert.is(openSource(db).log.head().seq, head);
  db.close();
});

s('the ledger snapshots at close after more than N entries, and its next open starts from that snapshot', async () => {
  const l = await freshLedger({ pasid_quota: 6000 });
  setupVm(l);
  const p = l.label;
  const reqs = [];
  for (let i = 0; i < 5000; i++) reqs.push({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.batchUntrusted(reqs);
  const head = l.head().seq;
  const view = l.view();
  l.close();
  const db = new Database(p, { readonly: true });
  assert.equal(new SnapshotStore(db).list().map((x) => x.seq), [head]);
  assert.is(openSource(db).log.head().seq, head + 1, 'the snapshot entry follows');
  db.close();
  const reopened = await openLedger(p);
  const { seq: _s, at: _a, ...now } = reopened.view();
  const { seq: _s0, at: _a0, ...then } = view;
  assert.equal(now, then, 'the same host: the snapshot entry changes nothing');
  assert.is(reopened.view().seq, head + 1);
  const o = reopened.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  assert.is(o.seq, head + 2);
  reopened.close();
  // Fewer than 10,000 entries evolved since: close writes none.
  const db2 = new Database(p, { readonly: true });
  assert.equal(new SnapshotStore(db2).list().map((x) => x.seq), [head]);
  db2.close();
});

s('a small log has no snapshot entry: seq numbering is unchanged', async () => {
  const l = await freshLedger();
  setupVm(l);
  const o = l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.close();
  const db = new Database(l.label, { readonly: true });
  assert.is(openSource(db).log.head().seq, o.seq + 1, 'the request and its ALLOC transition, nothing after');
  assert.is(new SnapshotStore(db).list().length, 0);
  db.close();
});

s('every reader accepts snapshot entries: audit holds (S7 checks each digest), replay --verify agrees, log prints them', async () => {
  const { status, report } = auditJson(path);
  assert.is(status, 0, JSON.stringify(report.invariants.filter((i) => !i.holds)));
  assert.ok(report.chain_checked);
  const db = new Database(path, { readonly: true });
  const v = verifyReplay(db);
  db.close();
  assert.ok(v.ok, JSON.stringify(v.mismatch));
  // A snapshot entry whose digest is not the log's state (a forger who appends one) fails S7.
  const copy = copyLog(path);
  const c = await Crafter.open(copy);
  const db2 = new Database(copy, { readonly: true });
  const head = openSource(db2).log.head().seq;
  db2.close();
  (c as unknown as { entries: Array<Record<string, unknown>> }).entries.push({ seq: head + 1, at: '2030-01-01T00:00:00.000Z', type: 'snapshot', of_seq: head, format: 'pasid-ledger-snapshot/2', digest: '0'.repeat(64) });
  c.commit();
  const bad = auditJson(copy);
  assert.is(bad.status, 1);
  assert.is(firstBreaks(bad.report).S7, head + 1);
});

s.run();
