import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger, type Ledger } from '../src/ledger.js';
import { MIGRATIONS_DIR } from '../src/store/migrate.js';
import { StoreError } from '../src/store/open.js';
import { auditFailures, stateFailures, verifyFailure } from './fixtures/ledger_checks.js';
import { setupVm, steppingClock, tmpDb, tmpDir } from './helpers.js';

const s = suite('storage_faults');

const ALLOC = { op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff } as const;

/** The SQLite error a failed statement throws, or null when `fn` does not throw. */
function caught(fn: () => unknown): (Error & { code?: string }) | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e as Error & { code?: string };
  }
}

async function readyLedger(path = tmpDb()): Promise<Ledger> {
  const l = await openLedger(path, { clock: steppingClock() });
  setupVm(l);
  l.request(ALLOC);
  return l;
}

s('a full disk (max_page_count): the request throws SQLITE_FULL, nothing is half-written, the ledger works once there is room', async () => {
  const l = await readyLedger();
  try {
    const head = l.head();
    const view = l.view();
    // Room for a few more pages only: a batch of 400 ALLOCs fills them part-way through.
    const pages = l.db.pragma('page_count', { simple: true }) as number;
    l.db.pragma(`max_page_count = ${pages + 2}`);
    const batch = Array.from({ length: 400 }, () => ALLOC);
    const e = caught(() => l.batch(batch));
    assert.ok(e, 'the batch throws');
    assert.is(e!.code, 'SQLITE_FULL');
    assert.equal(l.head(), head, 'no entry of the batch was written');
    assert.equal(l.view(), view, 'the state is the one before the batch');
    assert.is(verifyFailure(l.db), null, 'the log verifies');

    // Single requests fill the last free bytes of the file; the one that needs a new page fails whole.
    l.db.pragma(`max_page_count = ${l.db.pragma('page_count', { simple: true }) as number}`);
    let e1: ReturnType<typeof caught> = null;
    let before = l.head();
    for (let i = 0; i < 200 && !e1; i++) {
      before = l.head();
      e1 = caught(() => l.request(ALLOC));
    }
    assert.is(e1?.code, 'SQLITE_FULL', 'a single request on a full disk throws too');
    assert.equal(l.head(), before, 'the failed request wrote nothing');
    assert.is(verifyFailure(l.db), null);
    const held = l.view().vfio_mms[0]!.held;

    l.db.pragma('max_page_count = 1073741823');
    const o = l.request(ALLOC);
    assert.equal({ seq: o.seq, ret: o.ret, pasid: o.pasid }, { seq: before.seq + 1, ret: 0, pasid: held + 1 }, 'the next request gets the next seq and the next PASID');
    assert.is(l.batch(batch).length, 400, 'and a batch fits again');
    assert.is(verifyFailure(l.db), null);
    assert.equal(auditFailures(l.db), []);
    assert.equal(stateFailures(l.state), []);
  } finally {
    l.close();
  }
});

s('a read-only file: reads work, every write is refused with SQLITE_READONLY and nothing is written', async () => {
  // Tests run as root, for whom chmod 0444 does not stop a write: the file is made
  // read-only the two ways SQLite itself enforces, a readonly open and PRAGMA query_only.
  const path = tmpDb();
  const w = await readyLedger(path);
  const head = w.head();
  const view = w.view();
  w.close();

  const ro = await openLedger(path, { readonly: true });
  try {
    assert.equal(ro.view(), view, 'a read-only ledger serves the state');
    const e = caught(() => ro.request(ALLOC));
    assert.is(e?.code, 'SQLITE_READONLY');
    assert.equal(ro.head(), head, 'nothing written');
  } finally {
    ro.close();
  }

  const q = await openLedger(path);
  try {
    q.db.pragma('query_only = ON');
    const e = caught(() => q.batch([ALLOC, ALLOC]));
    assert.is(e?.code, 'SQLITE_READONLY');
    assert.equal(q.head(), head);
    q.db.pragma('query_only = OFF');
    assert.is(q.request(ALLOC).seq, head.seq + 1, 'writable again: the next seq');
    assert.is(verifyFailure(q.db), null);
  } finally {
    q.close();
  }

  const missing = join(tmpDir(), 'none.db');
  const e = await openLedger(missing, { readonly: true }).then(() => null, (x: unknown) => x);
  assert.instance(e, StoreError);
  assert.match((e as Error).message, /no such file/);
  assert.not.ok(existsSync(missing), 'a read-only open creates nothing');
});

s('a missing directory: a clear StoreError, and nothing is created', async () => {
  const parent = tmpDir();
  const path = join(parent, 'no', 'such', 'dir', 'ledger.db');
  const e = await openLedger(path).then(() => null, (x: unknown) => x);
  assert.instance(e, StoreError);
  assert.match((e as Error).message, /directory .*no\/such\/dir does not exist/);
  assert.equal(readdirSync(parent), [], 'no directory or file was created');
});

s('a db written by a newer schema version is refused with a clear message and left untouched', async () => {
  const path = tmpDb();
  (await readyLedger(path)).close();
  const raw = new Database(path);
  raw.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('2099_01_01_0099_from_the_future', '2099-01-01T00:00:00.000Z');
  const before = raw.prepare('SELECT count(*) AS n FROM entries').get();
  raw.close();

  const e = await openLedger(path).then(() => null, (x: unknown) => x);
  assert.instance(e, StoreError);
  assert.match((e as Error).message, /newer pasid-ledger .*2099_01_01_0099_from_the_future.*upgrade/);

  const after = new Database(path, { readonly: true });
  try {
    assert.equal(after.prepare('SELECT count(*) AS n FROM entries').get(), before, 'no entry added');
    assert.is(verifyFailure(after), null, 'the log still verifies');
  } finally {
    after.close();
  }
});

/** The frozen dump of a log written by schema version 1 (migration 0001 alone). */
const SCHEMA_0001 = fileURLToPath(new URL('../../test/fixtures/schema-0001.sql', import.meta.url));

s('a db from the first schema version is migrated forward on open, verifies, and keeps working', async () => {
  const path = tmpDb();
  const raw = new Database(path);
  raw.exec(readFileSync(SCHEMA_0001, 'utf8'));
  assert.equal(raw.prepare('SELECT name FROM kysely_migration').all(), [{ name: '2026_11_25_0001_entries' }], 'the fixture is at version 1');
  raw.close();

  // Read-only, it is read as it is (readers need no snapshot table) and not migrated.
  const ro = await openLedger(path, { readonly: true });
  assert.equal(ro.view().vfio_mms.map((m) => m.pasids), [[1, 2]]);
  assert.equal(ro.db.prepare('SELECT name FROM kysely_migration').all(), [{ name: '2026_11_25_0001_entries' }], 'not migrated');
  ro.close();

  const l = await openLedger(path);
  try {
    const known = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
    const done = (l.db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    assert.ok(known.length >= 2, 'there are later migrations to apply');
    assert.equal(done, known, 'every migration is applied');
    assert.is(verifyFailure(l.db), null, 'the old entries still verify');
    assert.equal(auditFailures(l.db), []);
    assert.is(l.head().seq, 14);
    assert.equal(l.view().vfio_mms.map((m) => [m.mm, m.pasids]), [['0x1000', [1, 2]]], 'the state the old log records');
    const again = l.request({ ...ALLOC, id: 'req-2' });
    assert.equal({ replayed: again.replayed, seq: again.seq, pasid: again.pasid }, { replayed: true, seq: 13, pasid: 2 }, 'an old request id still answers');
    const o = l.request(ALLOC);
    assert.equal({ seq: o.seq, ret: o.ret, pasid: o.pasid }, { seq: 15, ret: 0, pasid: 3 }, 'new requests chain on');
    assert.is(verifyFailure(l.db), null);
  } finally {
    l.close();
  }
  const reopened = await openLedger(path);
  try {
    assert.equal(reopened.view().vfio_mms[0]!.pasids, [1, 2, 3]);
  } finally {
    reopened.close();
  }
});

s.run();
