import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { viewState } from '../src/model/view.js';
import { replayTo } from '../src/replay/replay_to.js';
import { decodeState, encodeState } from '../src/snapshot/codec.js';
import { openSource } from '../src/replay/source.js';
import { SnapshotStore } from '../src/store/snapshots.js';
import { cli } from './audit_craft.js';
import { tamperedCopy } from './tamper.js';
import { setupVm, steppingClock, tmpDb } from './helpers.js';

const s = suite('snapshot_forgery');
const ALL = { min: 1, max: 0xfffff };

/** vm1 holds PASIDs 1..5, vm2 holds 6..8; the ledger took a snapshot at close (at the head, vouched for by the entry after it). */
let path: string;
s.before(async () => {
  path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), pasid_quota: 10, snapshotOnClose: 0 });
  setupVm(l);
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  for (let i = 0; i < 5; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
  for (let i = 0; i < 3; i++) l.request({ op: 'pasid_alloc', container: 'c2', ...ALL });
  l.close();
});

/** Rewrites the newest snapshot's blob with `edit` applied to its state (stored at `atSeq`, default its own seq, with the log's chain there). */
function forge(edit: (st: NonNullable<ReturnType<typeof decodeState>>) => void, atSeq?: number): string {
  return tamperedCopy(path, (db) => {
    const store = new SnapshotStore(db);
    const snap = store.latestAtOrBefore(Number.MAX_SAFE_INTEGER)!;
    const { config, log } = openSource(db);
    const st = decodeState(snap.state, config, snap.seq)!;
    edit(st);
    const seq = atSeq ?? snap.seq;
    st.seq = seq;
    if (atSeq !== undefined) db.prepare('DELETE FROM snapshots').run();
    db.prepare('INSERT OR REPLACE INTO snapshots (seq, chain, state, created_at) VALUES (?, ?, ?, ?)').run(seq, log.row(seq)!.chain, encodeState(st), 'x');
  });
}

/** Makes PASID 3 free in the snapshot: vm1's vfio_mm no longer holds it (a consistent forgery). */
const free3 = (st: NonNullable<ReturnType<typeof decodeState>>) => {
  st.vfioMms.get(1)!.pasids.delete(3);
  st.owner.delete(3);
  st.ids.free(3);
};

async function honestly(p: string) {
  const db = new Database(p, { readonly: true });
  const head = openSource(db).log.head().seq;
  const st = viewState(replayTo(db, { seq: head }, { checkChain: true }));
  db.close();
  return st;
}

for (const [name, at] of [['at its own seq', undefined], ['at the head seq, with the head chain', 'head']] as const) {
  s(`a forged snapshot ${name} is ignored: state and replay show the log, the writer does not double-allocate`, async () => {
    const headSeq = (() => { const db = new Database(path, { readonly: true }); const h = openSource(db).log.head().seq; db.close(); return h; })();
    const p = forge(free3, at === 'head' ? headSeq : undefined);
    const truth = await honestly(p);
    const db = new Database(p, { readonly: true });
    const stats = { restoredFrom: 0, rowsRead: 0, dropped: 0, saved: 0 };
    const st = replayTo(db, { seq: headSeq }, { stats });
    db.close();
    assert.is(st.owner.get(3), 1, 'PASID 3 is still vfio_mm 1\'s');
    assert.equal(viewState(st), truth);
    assert.is(stats.dropped, 1);
    const state = cli(['state', '--db', p, '--json']);
    assert.is(state.status, 0, state.stderr);
    assert.ok(JSON.stringify(JSON.parse(state.stdout)).includes('"pasids":[1,2,3,4,5]'), state.stdout);
    const v = cli(['verify', '--db', p]);
    assert.is(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /warning: snapshot at seq \d+ is not trusted/);
    const l = await openLedger(p);
    assert.is(l.pasidOwner(3)?.vfio_mm, 1);
    const out = l.request({ op: 'pasid_alloc', container: 'c2', ...ALL });
    assert.is(out.pasid, 9, 'the next free PASID, not vm1\'s 3');
    l.close();
  });
}

s('a forged snapshot that claims a PASID another vfio_mm holds does not even decode', () => {
  const p = forge((st) => {
    st.vfioMms.get(2)!.pasids.add(3);
  });
  const db = new Database(p, { readonly: true });
  const snap = new SnapshotStore(db).latestAtOrBefore(Number.MAX_SAFE_INTEGER)!;
  assert.is(decodeState(snap.state, openSource(db).config, snap.seq), null);
  db.close();
});

for (const [name, blob] of [['random bytes', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))], ['a truncated blob', null]] as const) {
  s(`a corrupt snapshot (${name}) is ignored, and verify names it`, async () => {
    const p = tamperedCopy(path, (db) => {
      const snap = new SnapshotStore(db).latestAtOrBefore(Number.MAX_SAFE_INTEGER)!;
      const bytes = blob ? blob() : snap.state.subarray(0, snap.state.length - 9);
      db.prepare('UPDATE snapshots SET state = ? WHERE seq = ?').run(bytes, snap.seq);
    });
    const truth = await honestly(p);
    const db = new Database(p, { readonly: true });
    const head = openSource(db).log.head().seq;
    assert.equal(viewState(replayTo(db, { seq: head })), truth);
    db.close();
    const v = cli(['verify', '--db', p, '--json']);
    assert.is(v.status, 0);
    assert.is(JSON.parse(v.stdout).untrusted_snapshots.length, 1);
    const l = await openLedger(p);
    assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...ALL }).pasid, 9);
    l.close();
  });
}

s.run();
