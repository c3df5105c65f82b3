import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { BusyError, ConfigMismatchError, NotALogError, SchemaTooNewError, StoreError } from '../src/store/open.js';
import { steppingClock, tmpDb, tmpDir } from './helpers.js';

// Errors are values with fields: each refusal of the store is its own StoreError subclass,
// so a caller (and the CLI) tells them apart by class, never by reading the message.
const s = suite('store errors are classes with fields');

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.unreachable('expected a refusal');
  return null;
}

s('another application\'s database is a NotALogError naming the path', async () => {
  const path = join(tmpDir(), 'other.db');
  const db = new Database(path);
  db.exec('CREATE TABLE accounts (id INTEGER)');
  db.close();
  const e = await refusal(openLedger(path));
  assert.ok(e instanceof NotALogError && e instanceof StoreError, String(e));
  assert.is((e as NotALogError).path, path);
  const text = join(tmpDir(), 'notes.db');
  writeFileSync(text, 'not a database, just text that is long enough to be read as a header........');
  assert.instance(await refusal(openLedger(text)), NotALogError);
});

s('a differing configuration is a ConfigMismatchError listing each conflict', async () => {
  const path = tmpDb();
  (await openLedger(path, { pasid_quota: 8, clock: steppingClock() })).close();
  const e = await refusal(openLedger(path, { pasid_quota: 9, profile: 'v7' }));
  assert.instance(e, ConfigMismatchError);
  assert.equal((e as ConfigMismatchError).conflicts, ['profile is v1 in the log, not v7', 'pasid_quota is 8 in the log, not 9']);
});

s('a log migrated by a newer pasid-ledger is a SchemaTooNewError naming the migration', async () => {
  const path = tmpDb();
  (await openLedger(path, { clock: steppingClock() })).close();
  const db = new Database(path);
  db.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('2099_01_01_0001_future', new Date().toISOString());
  db.close();
  const e = await refusal(openLedger(path));
  assert.instance(e, SchemaTooNewError);
  assert.is((e as SchemaTooNewError).migration, '2099_01_01_0001_future');
});

s('a write lock held past the busy timeout is a BusyError; nothing was written', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), busyTimeout: 200 });
  const head = l.head().seq;
  const holder = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/lock_holder.js', import.meta.url)), path, '5000']);
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  try {
    let e: unknown;
    try {
      l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1' });
    } catch (x) {
      e = x;
    }
    assert.instance(e, BusyError);
    assert.is((e as BusyError).path, path);
  } finally {
    holder.kill();
  }
  await new Promise((r) => holder.once('exit', r));
  assert.is(l.head().seq, head, 'nothing was written');
  assert.is(l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1' }).ret, 0, 'the ledger works once the lock is gone');
  l.close();
});

s.run();
