import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { CLI, setupVm, tmpDir } from './helpers.js';

const s = suite('read commands do not write; a read-only copy can be read');

/** Runs the CLI, as root or (with `as`) as an unprivileged user via util-linux setpriv. */
const cli = (args: string[], as?: number) => {
  const cmd = as === undefined ? [process.execPath, CLI, ...args] : ['setpriv', `--reuid=${as}`, `--regid=${as}`, '--clear-groups', process.execPath, CLI, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const NOBODY = 65534;

/** Every read command, with the arguments it needs besides --db. */
function readCommands(dir: string): string[][] {
  const key = join(dir, 'k.key');
  if (!existsSync(key)) assert.is(cli(['keygen', '--out', join(dir, 'k')]).code, 0);
  return [
    ['state'], ['log'], ['audit'], ['explain', '--seq', '1'], ['timeline', '--vm', 'vm1'],
    ['diff', '--from', '1', '--to', '2'], ['replay', '--at', '1'], ['verify'],
    ['checkpoint', '--key', key, '--out', join(dir, `cp-${Math.random().toString(36).slice(2)}.json`)],
  ];
}

/** A closed log (WAL mode, checkpointed: no -wal left) with a few entries. */
async function closedLog(path: string): Promise<void> {
  const l = await openLedger(path);
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 });
  l.close();
}

s('read commands on files that hold no log exit 2 and leave them byte-identical, with no -wal or -shm', () => {
  const dir = tmpDir();
  const zero = join(dir, 'zero.db');
  writeFileSync(zero, '');
  const text = join(dir, 'text.db');
  writeFileSync(text, 'hello, this is not a database\n'.repeat(10));
  const emptyDb = join(dir, 'empty-sqlite.db');
  const e = new Database(emptyDb);
  e.pragma('user_version = 7'); // a valid SQLite file with no table
  e.close();
  const other = join(dir, 'other.db');
  const o = new Database(other);
  o.pragma('journal_mode = DELETE');
  o.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ada')");
  o.close();
  const cmds = readCommands(dir);
  const cases: Array<[string, string[][]]> = [[other, cmds], [zero, cmds.slice(0, 4)], [text, cmds.slice(0, 4)], [emptyDb, cmds.slice(0, 4)]];
  for (const [file, list] of cases) {
    const before = sha(file);
    for (const c of list) {
      const r = cli([...c, '--db', file]);
      assert.is(r.code, 2, `${c[0]} on ${file}: ${r.out} ${r.err}`);
      assert.match(r.err, new RegExp(`^pasid-ledger: ${file.replace(/[.]/g, '\\.')} holds no pasid-ledger log`), `${c[0]}: ${r.err}`);
      assert.is(sha(file), before, `${c[0]} left ${file} byte-identical`);
      assert.not.ok(existsSync(`${file}-wal`) || existsSync(`${file}-shm`) || existsSync(`${file}-journal`), `${c[0]} created no -wal/-shm beside ${file}`);
    }
  }
  const still = new Database(other, { readonly: true });
  assert.equal(still.pragma('journal_mode', { simple: true }), 'delete', 'the other database is still in rollback-journal mode');
  still.close();
});

/** The frozen dump of a log written by schema version 1 (migration 0001 alone). */
const SCHEMA_0001 = fileURLToPath(new URL('../../test/fixtures/schema-0001.sql', import.meta.url));

s('a log of an older schema is read as it is: read commands do not migrate it', () => {
  const dir = tmpDir();
  const db = join(dir, 'old.db');
  const raw = new Database(db);
  raw.exec(readFileSync(SCHEMA_0001, 'utf8'));
  raw.close();
  const before = sha(db);
  const st = cli(['state', '--db', db, '--json']);
  assert.is(st.code, 0, st.err);
  assert.equal(JSON.parse(st.out).vfio_mms.map((m: { pasids: number[] }) => m.pasids), [[1, 2]]);
  for (const c of [['log'], ['replay', '--at', '14'], ['verify']]) {
    const r = cli([...c, '--db', db]);
    assert.is(r.code, 0, `${c[0]}: ${r.err}`);
  }
  assert.is(sha(db), before, 'the old log is byte-identical');
  const after = new Database(db, { readonly: true });
  assert.equal(after.prepare('SELECT name FROM kysely_migration').all(), [{ name: '2026_11_25_0001_entries' }], 'still at version 1');
  after.close();
});

/** A directory the unprivileged user can enter but not write (the temp dir above it is opened up to it). */
function readOnlyDir(): string {
  const top = tmpDir();
  chmodSync(top, 0o755);
  const dir = join(top, 'evidence');
  mkdirSync(dir);
  return dir;
}

s('as an unprivileged user, every read command works on a checkpointed copy (mode 444) in a directory it cannot write', async () => {
  const work = tmpDir();
  chmodSync(work, 0o777); // where checkpoint writes its output
  const src = join(work, 'host.db');
  await closedLog(src);
  const dir = readOnlyDir();
  const copy = join(dir, 'host.db');
  copyFileSync(src, copy);
  chmodSync(copy, 0o444);
  chmodSync(dir, 0o555);
  const cmds = readCommands(work);
  chmodSync(join(work, 'k.key'), 0o644);
  const before = sha(copy);
  for (const c of cmds) {
    const r = cli([...c, '--db', copy], NOBODY);
    assert.is(r.code, 0, `${c[0]} as nobody: ${r.err}`);
  }
  assert.is(sha(copy), before);
  assert.equal(readdirSync(dir), ['host.db'], 'nothing created beside it');
});

s('export writes one verifiable file in rollback-journal mode that an unprivileged user reads from a read-only directory', async () => {
  const work = tmpDir();
  const src = join(work, 'host.db');
  await closedLog(src);
  // A writer still attached: part of the log is in host.db-wal.
  const l = await openLedger(src);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 });
  assert.ok(existsSync(`${src}-wal`));
  const head = l.head().seq;
  const dir = readOnlyDir();
  const out = join(dir, 'host-export.db');
  const r = cli(['export', '--db', src, '--out', out]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`exported ${head} entries .* the copy verifies`));
  assert.is(readFileSync(out)[18], 1, 'the copy is in rollback-journal mode (file format byte 18)');
  assert.is(cli(['export', '--db', src, '--out', out]).code, 2, 'an existing copy is not replaced without --force');
  assert.is(cli(['export', '--db', src, '--out', src, '--force']).code, 2, 'the log itself is never the output');
  chmodSync(out, 0o444);
  chmodSync(dir, 0o555);
  const v = cli(['verify', '--db', out], NOBODY);
  assert.is(v.code, 0, v.err);
  const st = cli(['state', '--db', out, '--json'], NOBODY);
  assert.is(st.code, 0, st.err);
  assert.is(JSON.parse(st.out).seq, head, 'the copy holds what was in the -wal too');
  assert.equal(readdirSync(dir), ['host-export.db']);
  // A copy taken with its -wal, in a directory nobody may write: a clear message, not a crash.
  l.close();
  const live = await openLedger(src);
  live.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 });
  const dir2 = readOnlyDir();
  copyFileSync(src, join(dir2, 'host.db'));
  copyFileSync(`${src}-wal`, join(dir2, 'host.db-wal'));
  live.close();
  chmodSync(dir2, 0o555);
  const w = cli(['state', '--db', join(dir2, 'host.db')], NOBODY);
  assert.is(w.code, 2, w.err);
  assert.match(w.err, /host\.db-wal holds part of the log.*directory is not writable.*pasid-ledger export/);
});

s.run();
