import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, tmpDb } from './helpers.js';
import { startWorker, within } from './fixtures/spawn_worker.js';

const s = suite('concurrent first open');

s('24 processes create and migrate one new file at once: all succeed, one config entry, the log verifies', async () => {
  const db = tmpDb('new.db');
  const n = 24;
  // Started together, each opens the file (creating and migrating it) and runs one request.
  const workers = Array.from({ length: n }, (_, i) => startWorker([db, `w${i}`, '1', String(i + 1)], 90_000));
  const ends = await within(Promise.all(workers.map((w) => w.done)), 90_000, 'the workers');
  ends.forEach((e, i) => assert.equal(e, { code: 0, signal: null }, `worker ${i}: ${workers[i]!.stderr()}`));
  const seqs = workers.map((w) => JSON.parse(w.stdout().trim()).seq as number);
  assert.is(new Set(seqs).size, n, 'each request got its own entry');
  const ro = new Database(db, { readonly: true });
  try {
    assert.is((ro.prepare("SELECT count(*) AS n FROM entries WHERE type = 'config'").get() as { n: number }).n, 1, 'exactly one config entry');
    assert.is((ro.prepare("SELECT count(*) AS n FROM entries WHERE type = 'request'").get() as { n: number }).n, n);
    const names = (ro.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    assert.is(new Set(names).size, names.length, 'each migration ran once');
  } finally {
    ro.close();
  }
  const v = spawnSync(process.execPath, [CLI, 'verify', '--db', db], { encoding: 'utf8' });
  assert.is(v.status, 0, v.stdout + v.stderr);
});

s.run();
