import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { openLedger } from '../src/ledger.js';
import { viewState } from '../src/model/view.js';
import { replayTo } from '../src/replay/replay_to.js';
import { ChainError, SNAPSHOT_EVERY } from '../src/snapshot/cache.js';
import { CLI, setupVm, steppingClock, tmpDb } from './helpers.js';

const FULL = { min: 1, max: 0xfffff };

async function smallLog(): Promise<string> {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), pasid_quota: 50 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  for (let i = 0; i < 20; i++) l.request({ op: 'pasid_alloc', container: i % 2 ? 'c1' : 'c2', ...FULL });
  l.request({ op: 'vm_crash', vm: 'vm2' });
  l.close();
  return path;
}

const s = suite('replay with the chain checked, in one pass');

s('an intact log replays to the same state with and without the check', async () => {
  const path = await smallLog();
  const db = new Database(path);
  const head = (db.prepare('SELECT max(seq) AS n FROM entries').get() as { n: number }).n;
  for (const seq of [1, 10, 33, head]) {
    assert.equal(viewState(replayTo(db, { seq }, { checkChain: true })), viewState(replayTo(db, { seq })), `seq ${seq}`);
  }
  db.close();
});

s('an edited entry, an edited hash and a deleted row are named by seq; the CLI exits 1', async () => {
  const path = await smallLog();
  const db = new Database(path);
  db.exec('DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete');
  const head = (db.prepare('SELECT max(seq) AS n FROM entries').get() as { n: number }).n;
  const expectBad = (seq: number, why: RegExp) => {
    try {
      replayTo(db, { seq: head }, { checkChain: true });
      assert.unreachable('a tampered log replayed');
    } catch (e) {
      assert.instance(e, ChainError);
      assert.is((e as ChainError).seq, seq);
      assert.match((e as Error).message, why);
    }
  };
  const text = (db.prepare('SELECT entry FROM entries WHERE seq = 20').get() as { entry: string }).entry;
  db.prepare('UPDATE entries SET entry = ? WHERE seq = 20').run(text.replace('"ret":0', '"ret":-14'));
  expectBad(20, /leaf/);
  const r = spawnSync(process.execPath, [CLI, 'replay', '--db', path, '--at', String(head), '--check-chain'], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stdout, /seq 20 is bad/);
  db.prepare('UPDATE entries SET entry = ? WHERE seq = 20').run(text);
  db.prepare("UPDATE entries SET chain = '00' || substr(chain, 3) WHERE seq = 25").run();
  expectBad(25, /chain/);
  db.prepare("UPDATE entries SET chain = substr(chain, 3) WHERE seq = 25").run();
  db.close();
});

s('a writer keeps a snapshot every SNAPSHOT_EVERY entries, without waiting for close()', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { synchronous: 'OFF', pasid_quota: SNAPSHOT_EVERY });
  setupVm(l);
  const reqs = Array.from({ length: 1000 }, () => ({ op: 'pasid_alloc', container: 'c1', ...FULL }));
  while (l.head().seq < SNAPSHOT_EVERY + 10) l.batchUntrusted(reqs);
  const snaps = l.db.prepare('SELECT seq FROM snapshots').all() as Array<{ seq: number }>;
  assert.ok(snaps.length >= 1, 'a snapshot was written while appending');
  assert.ok(snaps.every((x) => x.seq >= SNAPSHOT_EVERY));
  const live = l.view();
  // No close(): a killed writer leaves the file as it is. A reopen starts from the snapshot.
  const again = await openLedger(path);
  assert.equal(again.view(), live);
  again.close();
  l.close();
});

s.run();
