import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { CLI, setupVm, tmpDir } from './helpers.js';

const s = suite('output files: never a file that is not ours');

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A closed log with a few entries in a fresh dir; a key pair beside it. */
async function logDir(): Promise<{ dir: string; db: string; key: string }> {
  const dir = tmpDir();
  const db = join(dir, 'd.db');
  const l = await openLedger(db);
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 });
  l.close();
  assert.is(cli('keygen', '--out', join(dir, 'k')).code, 0);
  return { dir, db, key: join(dir, 'k.key') };
}

s('audit --out and checkpoint --out refuse the log, its -wal, a symlink and a hard link to it, even with --force', async () => {
  const { dir, db, key } = await logDir();
  // A live writer keeps a -wal beside the log.
  const writer = new Database(db);
  writer.pragma('journal_mode = WAL');
  writer.exec('BEGIN; SELECT 1; COMMIT');
  const link = join(dir, 'link.db');
  symlinkSync(db, link);
  const hard = join(dir, 'hard.db');
  linkSync(db, hard);
  const before = sha(db);
  for (const out of [db, link, hard, `${db}-wal`]) {
    const a = cli('audit', '--db', db, '--out', out, '--force');
    assert.is(a.code, 2, `audit --out ${out}: ${a.err}`);
    assert.match(a.err, /^pasid-ledger: .*which this command reads: refusing to write over it/);
  }
  for (const out of [db, link]) {
    const c = cli('checkpoint', '--db', db, '--key', key, '--out', out, '--force');
    assert.is(c.code, 2, `checkpoint --out ${out}: ${c.err}`);
    assert.match(c.err, /refusing to write over it/);
  }
  // The key is read by checkpoint, so it is protected too.
  const k = readFileSync(key, 'utf8');
  assert.is(cli('checkpoint', '--db', db, '--key', key, '--out', key, '--force').code, 2);
  assert.is(readFileSync(key, 'utf8'), k);
  writer.close();
  assert.is(sha(db), before, 'the log is byte-identical');
  assert.is(cli('verify', '--db', db).code, 0);
});

s('an existing --out file is replaced only with --force; a new one is written whole', async () => {
  const { dir, db, key } = await logDir();
  const out = join(dir, 'report.txt');
  writeFileSync(out, 'keep me');
  const r = cli('audit', '--db', db, '--out', out);
  assert.is(r.code, 2);
  assert.match(r.err, /report\.txt already exists: pass --force/);
  assert.is(readFileSync(out, 'utf8'), 'keep me');
  assert.is(cli('audit', '--db', db, '--out', out, '--force').code, 0);
  assert.match(readFileSync(out, 'utf8'), /invariant/i);
  const cp = join(dir, 'cp.json');
  assert.is(cli('checkpoint', '--db', db, '--key', key, '--out', cp).code, 0);
  const first = readFileSync(cp, 'utf8');
  assert.is(cli('checkpoint', '--db', db, '--key', key, '--out', cp).code, 2);
  assert.is(readFileSync(cp, 'utf8'), first);
  assert.is(cli('checkpoint', '--db', db, '--key', key, '--out', cp, '--force').code, 0);
  const ro = new Database(db, { readonly: true });
  const head = (ro.prepare('SELECT max(seq) AS n FROM entries').get() as { n: number }).n;
  ro.close();
  assert.is(JSON.parse(readFileSync(cp, 'utf8')).size, head);
  // A device node or a directory is never an output file.
  assert.is(cli('audit', '--db', db, '--out', '/dev/null', '--force').code, 2);
  mkdirSync(join(dir, 'sub'));
  assert.is(cli('audit', '--db', db, '--out', join(dir, 'sub'), '--force').code, 2);
  assert.equal(statSync('/dev/null').isCharacterDevice(), true, '/dev/null is still a device');
});

s('keygen refuses existing key files without --force, and leaves both untouched', async () => {
  const dir = tmpDir();
  const prefix = join(dir, 'k');
  assert.is(cli('keygen', '--out', prefix).code, 0);
  assert.is(statSync(`${prefix}.key`).mode & 0o777, 0o600, 'the private key is private');
  const key = readFileSync(`${prefix}.key`, 'utf8');
  writeFileSync(`${prefix}.pub`, 'someone else\'s file');
  const r = cli('keygen', '--out', prefix);
  assert.is(r.code, 2);
  assert.match(r.err, /already exists: pass --force/);
  assert.is(readFileSync(`${prefix}.key`, 'utf8'), key);
  assert.is(readFileSync(`${prefix}.pub`, 'utf8'), 'someone else\'s file');
  assert.is(cli('keygen', '--out', prefix, '--force').code, 0);
  assert.is.not(readFileSync(`${prefix}.key`, 'utf8'), key);
});

s('demo --fresh deletes only a pasid-ledger log: a text file, another SQLite database, a directory, a device are refused', async () => {
  const { dir, db } = await logDir();
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'not a log\n');
  const other = join(dir, 'other.db');
  const o = new Database(other);
  o.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES (\'ada\')');
  o.close();
  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '');
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  for (const victim of [text, other, empty]) {
    const before = sha(victim);
    const r = cli('demo', '--fresh', '--db', victim);
    assert.is(r.code, 2, `${victim}: ${r.err}`);
    assert.match(r.err, /is not a pasid-ledger log: refusing to delete it/);
    assert.is(sha(victim), before, `${victim} is untouched`);
    assert.not.ok(existsSync(`${victim}-wal`) || existsSync(`${victim}-shm`));
  }
  const d = cli('demo', '--fresh', '--db', folder);
  assert.is(d.code, 2, d.err);
  assert.match(d.err, /is a directory/);
  assert.ok(statSync(folder).isDirectory());
  const nul = cli('demo', '--fresh', '--db', '/dev/null');
  assert.is(nul.code, 2, nul.err);
  assert.ok(statSync('/dev/null').isCharacterDevice());
  // A log is replaced.
  const r = cli('demo', '--fresh', '--db', db);
  assert.is(r.code, 0, r.err);
  assert.is(cli('verify', '--db', db).code, 0);
});

s('a writing command refuses to add a log to another application\'s SQLite database', async () => {
  const dir = tmpDir();
  const other = join(dir, 'other.db');
  const o = new Database(other);
  o.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY)');
  o.close();
  const before = sha(other);
  const req = join(dir, 'r.jsonl');
  writeFileSync(req, '{"op":"vm_start","vm":"vm1","mm":"0x1"}\n');
  const r = cli('run', req, '--db', other);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /holds no pasid-ledger log .*refusing to add one/);
  assert.is(sha(other), before);
});

s.run();
