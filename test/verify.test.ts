import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyLog } from '../src/replay/verify.js';
import { leafHash } from '../src/store/hash.js';
import { CLI } from './helpers.js';
import { rechain, tamperedCopy } from './tamper.js';
import { writeStory, type Story } from './replay_story.js';

const s = suite('verify (tamper evidence)');
let story: Story;
let size: number;

s.before(async () => {
  story = await writeStory();
  size = story.ledger.head().seq;
  story.ledger.close();
});

const tampered = (fn: (db: Database.Database) => void): string => tamperedCopy(story.path, fn);

function verifyFile(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return verifyLog(db);
  } finally {
    db.close();
  }
}

const entryOf = (db: Database.Database, seq: number) => (db.prepare('SELECT entry FROM entries WHERE seq = ?').get(seq) as { entry: string }).entry;

/** The first request entry whose outcome was a failure, for an edit that matters. */
function deniedSeq(): number {
  return story.outcomes.find((o) => o.out.reason === 'quota_exhausted')!.out.seq;
}

s('the untouched log verifies', () => {
  const r = verifyFile(story.path);
  assert.ok(r.ok);
  assert.is(r.size, size);
  assert.is(r.entries, size);
  assert.is(r.bad, null);
  const db = new Database(story.path, { readonly: true });
  assert.is(r.chain, (db.prepare('SELECT chain FROM entries WHERE seq = ?').get(size) as { chain: string }).chain);
  db.close();
});

s("an edited entry text is named by its seq (its leaf no longer matches)", () => {
  const seq = deniedSeq();
  const path = tampered((db) => {
    db.prepare('UPDATE entries SET entry = ? WHERE seq = ?').run(entryOf(db, seq).replace('"ret":-14', '"ret":0'), seq);
  });
  const r = verifyFile(path);
  assert.is(r.bad?.seq, seq);
  assert.match(r.bad!.problem, /does not hash to the row's leaf/);
  assert.is(r.size, seq - 1);
});

s('an edited text with its leaf recomputed is named by its seq (the chain no longer matches)', () => {
  const seq = deniedSeq();
  const path = tampered((db) => {
    const text = entryOf(db, seq).replace('"ret":-14', '"ret":0');
    db.prepare('UPDATE entries SET entry = ?, leaf = ? WHERE seq = ?').run(text, leafHash(text), seq);
  });
  const r = verifyFile(path);
  assert.is(r.bad?.seq, seq);
  assert.match(r.bad!.problem, /chain/);
});

s('an edited indexing column is named by its seq and column', () => {
  const seq = 60;
  const path = tampered((db) => {
    db.prepare("UPDATE entries SET vm = 'vm9' WHERE seq = ?").run(seq);
  });
  const r = verifyFile(path);
  assert.is(r.bad?.seq, seq);
  assert.match(r.bad!.problem, /column vm is "vm9", the entry says/);
  const pasidRow = tampered((db) => {
    db.prepare('UPDATE entries SET pasid = pasid + 1 WHERE seq = (SELECT min(seq) FROM entries WHERE pasid IS NOT NULL AND seq > 100)').run();
  });
  const r2 = verifyFile(pasidRow);
  assert.ok(r2.bad && r2.bad.seq > 100);
  assert.match(r2.bad!.problem, /column pasid/);
});

s('a deleted row is named (the gap), even with every later chain recomputed', () => {
  const plain = tampered((db) => db.prepare('DELETE FROM entries WHERE seq = 100').run());
  const r = verifyFile(plain);
  assert.is(r.bad?.seq, 100);
  assert.match(r.bad!.problem, /entry 100 is missing/);
  const careful = tampered((db) => {
    db.prepare('DELETE FROM entries WHERE seq = 100').run();
    rechain(db, 101);
  });
  assert.is(verifyFile(careful).bad?.seq, 100);
  const first = tampered((db) => db.prepare('DELETE FROM entries WHERE seq = 1').run());
  assert.is(verifyFile(first).bad?.seq, 1);
});

s('swapping the contents of two rows is named at the first of them', () => {
  const [a, b] = [120, 130];
  const swap = (db: Database.Database) => {
    const ra = db.prepare('SELECT * FROM entries WHERE seq = ?').get(a) as Record<string, unknown>;
    const rb = db.prepare('SELECT * FROM entries WHERE seq = ?').get(b) as Record<string, unknown>;
    const cols = Object.keys(ra).filter((c) => c !== 'seq');
    const upd = db.prepare(`UPDATE entries SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE seq = @seq`);
    upd.run({ ...rb, seq: a });
    upd.run({ ...ra, seq: b });
  };
  const r = verifyFile(tampered(swap));
  assert.is(r.bad?.seq, a);
  // With every hash recomputed after the swap, the entry's own seq still gives it away.
  const careful = verifyFile(tampered((db) => { swap(db); rechain(db, a); }));
  assert.is(careful.bad?.seq, a);
  assert.match(careful.bad!.problem, /the entry says seq 130, the row is seq 120/);
});

s('a truncated tail still verifies on its own: only a checkpoint can tell (see checkpoint tests)', () => {
  const r = verifyFile(tampered((db) => db.prepare('DELETE FROM entries WHERE seq > 250').run()));
  assert.ok(r.ok);
  assert.is(r.size, 250);
});

s('a text that is not canonical JSON is named, even with its hashes recomputed', () => {
  const seq = 77;
  const r = verifyFile(tampered((db) => {
    const spaced = JSON.stringify(JSON.parse(entryOf(db, seq)), null, 1);
    db.prepare('UPDATE entries SET entry = ? WHERE seq = ?').run(spaced, seq);
    rechain(db, seq);
  }));
  assert.is(r.bad?.seq, seq);
  assert.match(r.bad!.problem, /canonical/);
});

s('verify on the command line: exit 0 and the head, exit 1 naming the seq, --json, bad input exit 2', () => {
  const good = spawnSync(process.execPath, [CLI, 'verify', '--db', story.path], { encoding: 'utf8' });
  assert.is(good.status, 0, good.stderr);
  assert.match(good.stdout, new RegExp(`^ok: ${size} entries`));
  const seq = deniedSeq();
  const bad = tampered((db) => {
    db.prepare('UPDATE entries SET entry = ? WHERE seq = ?').run(entryOf(db, seq).replace('"ret":-14', '"ret":0'), seq);
  });
  const r = spawnSync(process.execPath, [CLI, 'verify', '--db', bad], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stdout, new RegExp(`^seq ${seq} is bad: `));
  const j = spawnSync(process.execPath, [CLI, 'verify', '--db', bad, '--json'], { encoding: 'utf8' });
  assert.is(j.status, 1);
  const out = JSON.parse(j.stdout);
  assert.is(out.ok, false);
  assert.is(out.bad.seq, seq);
  const missing = spawnSync(process.execPath, [CLI, 'verify', '--db', '/nonexistent/x.db'], { encoding: 'utf8' });
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /no such file/);
  // verify opens the file read-only: the file under audit is left exactly as it was.
  const before = hash('sha256', readFileSync(bad));
  spawnSync(process.execPath, [CLI, 'verify', '--db', bad], { encoding: 'utf8' });
  assert.is(hash('sha256', readFileSync(bad)), before);
});

s.run();
