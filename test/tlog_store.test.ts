import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { checkpointText, consistencyProof, inclusionProof, verifyWithRoot } from '../src/replay/proofs.js';
import { EntryLog } from '../src/store/log.js';
import { MerkleStore } from '../src/store/tree.js';
import { generateSigner } from '../src/tlog/keys.js';
import { EMPTY_ROOT, Frontier, hashLeaf } from '../src/tlog/merkle.js';
import { openNote } from '../src/tlog/note.js';
import { verifyConsistency, verifyInclusion } from '../src/tlog/proof.js';
import { setupVm, steppingClock, tmpDb } from './helpers.js';
import { copyLog } from './tamper.js';

const test = suite('tlog_store');

/** A real log of at least `n` entries: a vm, a container, PASID allocations. */
async function realLog(n: number): Promise<string> {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), synchronous: 'OFF' });
  setupVm(l);
  while (l.head().seq < n) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 1000 });
  l.close();
  return path;
}

/** The roots of every prefix, recomputed from the entries' texts (not from the stored tree). */
function referenceRoots(db: Database.Database): Buffer[] {
  const f = new Frontier();
  const roots = [EMPTY_ROOT];
  for (const text of db.prepare('SELECT entry FROM entries ORDER BY seq').pluck().iterate() as IterableIterator<string>) {
    f.push(hashLeaf(text));
    roots.push(f.root());
  }
  return roots;
}

test('the stored tree of a real log: every proof between all sizes <= 64 verifies against roots recomputed from the texts', async () => {
  const path = await realLog(64);
  const db = new Database(path, { readonly: true });
  const roots = referenceRoots(db).slice(0, 65);
  const tree = new MerkleStore(db);
  assert.ok(tree.builtSize() >= 64);
  for (let n = 1; n <= 64; n++) {
    assert.ok(tree.root(n).equals(roots[n]!), `root at ${n}`);
    for (let seq = 1; seq <= n; seq++) {
      const p = inclusionProof(tree, seq, n);
      assert.is(p.index, seq - 1);
      assert.is(verifyInclusion(seq - 1, n, Buffer.from(p.leaf_hash, 'base64'), p.hashes.map((h) => Buffer.from(h, 'base64')), roots[n]!), null, `${seq} in ${n}`);
    }
    for (let m = 1; m <= n; m++) {
      const c = consistencyProof(tree, m, n);
      assert.is(verifyConsistency(m, n, c.hashes.map((h) => Buffer.from(h, 'base64')), roots[m]!, roots[n]!), null, `${m} -> ${n}`);
    }
  }
  db.close();
});

test('a log from before the tree: read-only opens compute it in memory, a write open builds it in resumable chunks', async () => {
  const path = await realLog(300);
  const old = copyLog(path);
  // As an older pasid-ledger left it: no tree table, no record of the migration.
  const raw = new Database(old);
  raw.exec('DROP TABLE tree_nodes');
  raw.prepare("DELETE FROM kysely_migration WHERE name LIKE '%merkle_tree'").run();
  raw.close();
  const ro = new Database(old, { readonly: true });
  const fallback = new MerkleStore(ro);
  assert.is(fallback.present, false);
  const ref = referenceRoots(ro);
  assert.ok(fallback.root(300).equals(ref[300]!));
  assert.ok(fallback.root(257).equals(ref[257]!));
  ro.close();
  const l = await openLedger(old, { clock: steppingClock() });
  const tree = l.log.tree;
  assert.is(tree.builtSize(), l.head().seq);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 1000 });
  const size = l.head().seq;
  const db = l.log.db;
  assert.ok(tree.root(size).equals(referenceRoots(db)[size]!));
  l.close();
  // Chunked catch-up: stop after the first chunk (as a killed process would), then resume.
  const again = copyLog(path);
  const raw2 = new Database(again);
  raw2.exec('DROP TRIGGER tree_nodes_no_delete; DELETE FROM tree_nodes;');
  raw2.close();
  const db2 = new Database(again);
  const t2 = new MerkleStore(db2);
  const seen: number[] = [];
  assert.throws(() => t2.catchUp((b) => { seen.push(b); if (b >= 100) throw new Error('killed'); }, 50));
  assert.equal(seen, [50, 100]);
  assert.is(t2.builtSize(), 100);
  const r = new MerkleStore(db2).catchUp(undefined, 64);
  assert.equal(r, { from: 100, to: 300 });
  assert.ok(new MerkleStore(db2).root(300).equals(referenceRoots(db2)[300]!));
  db2.close();
});

test('a rolled-back append leaves no tree node behind, and the next append builds on the committed edge', async () => {
  const path = await realLog(10);
  const db = new Database(path);
  const log = new EntryLog(db);
  const head = log.head().seq;
  const entry = (seq: number) => ({ seq, at: '2026-01-01T00:00:00.000Z', type: 'request', op: 'noop_for_test', req: { op: 'x' }, ret: 0 });
  assert.throws(() => log.immediate(() => { log.append([entry(head + 1), entry(head + 2)]); throw new Error('rollback'); }));
  assert.is(log.tree.builtSize(), head);
  log.immediate(() => log.append([entry(head + 1)]));
  assert.ok(log.tree.root(head + 1).equals(referenceRoots(db)[head + 1]!));
  const v = verifyWithRoot(db);
  assert.ok(v.root!.root.equals(log.tree.root(head + 1)));
  db.close();
});

test('checkpointText signs the stored root as a C2SP note that verifies', async () => {
  const path = await realLog(20);
  const db = new Database(path, { readonly: true });
  const s = generateSigner('example.com/pasid', 1);
  const note = checkpointText(db, s);
  const opened = openNote(note, [s]);
  if (typeof opened === 'string') throw new Error(opened);
  const size = new MerkleStore(db).logSize();
  assert.is(opened.text, `example.com/pasid\n${size}\n${referenceRoots(db)[size]!.toString('base64')}\n`);
  db.close();
});

test.run();
