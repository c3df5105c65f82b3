import Database from 'better-sqlite3';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPg, kyselyPg, migratePg } from '../src/fleet/pg.js';
import { shipLog } from '../src/fleet/ship.js';
import { localRows, pgRows, trafficLog } from './support/fleet.js';
import { requirePgCluster, type PgCluster } from './support/pg_cluster.js';
import { attacker, copyLog } from './tamper.js';

// When is a shipped batch on PostgreSQL's disk? The shipper commits every batch of a pass
// but the last without waiting for the WAL flush, and the last one durably, which flushes
// them all. Seen from the server's own WAL positions, on a cluster whose WAL writer
// sleeps 10 s (so that only a commit flushes) and with no autovacuum writing WAL.
const s = suite('fleet_flush');
let pgc: PgCluster;
let url = '';
let c: pg.Client;
let probe: pg.Client;
/** Whether this server is the one asked for (PASID_LEDGER_TEST_PG gives a shared one): the WAL-position checks need it. */
let quiet = false;

s.before(async () => {
  pgc = await requirePgCluster({ durable: true, settings: ['wal_writer_delay=10000', 'autovacuum=off'] });
  url = pgc.url;
  const k = kyselyPg(url);
  await migratePg(k);
  await k.destroy();
  c = await connectPg(url);
  probe = await connectPg(url);
  const delay = (await probe.query<{ wal_writer_delay: string }>('SHOW wal_writer_delay')).rows[0]!.wal_writer_delay;
  quiet = delay === '10s' && !process.env.PASID_LEDGER_TEST_PG;
});
s.after(async () => {
  await c?.end();
  await probe?.end();
  await pgc?.stop();
});

/** Whether every WAL record written so far is flushed (the last commit durable). */
async function flushed(): Promise<boolean> {
  const r = await probe.query<{ ok: boolean }>('SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn() AS ok');
  return r.rows[0]!.ok;
}

s('every batch but the last skips the WAL flush; the last flushes them all; the rows are all there', async () => {
  const path = await trafficLog(60);
  const local = localRows(path);
  const db = new Database(path, { readonly: true });
  const seen: Array<{ head: number; flushed: boolean }> = [];
  try {
    const r = await shipLog(db, c, { host: 'flush-a', batch: 10, onBatch: async (head) => { seen.push({ head, flushed: await flushed() }); } });
    assert.is(r.shipped, local.length);
  } finally {
    db.close();
  }
  assert.ok(seen.length >= 5, `expected several batches, got ${seen.length}`);
  assert.equal(await pgRows(url, 'flush-a'), local);
  if (!quiet) return;
  // The last batch: durable (everything written is flushed when shipLog returns).
  assert.equal(seen.at(-1), { head: local.length, flushed: true });
  assert.ok(await flushed());
  // The others: committed (their rows were visible to the next batch's check) without a flush.
  // The WAL writer flushes once when the first unflushed commit wakes it, hence "most".
  const skipped = seen.slice(0, -1).filter((x) => !x.flushed).length;
  assert.ok(skipped >= seen.length - 3, `only ${skipped} of ${seen.length - 1} batches skipped the flush: ${JSON.stringify(seen)}`);
});

s('a pass that fails midway flushes what it committed before the error goes on', async () => {
  const good = await trafficLog(60);
  // An entry in the middle whose text no longer hashes to its leaf: the shipper refuses there.
  const path = copyLog(good);
  const a = attacker(path);
  const bad = Math.floor(localRows(good).length / 2);
  a.prepare("UPDATE entries SET entry = replace(entry, '\"seq\"', '\"seq\" ') WHERE seq = ?").run(bad);
  a.close();
  const db = new Database(path, { readonly: true });
  try {
    await shipLog(db, c, { host: 'flush-b', batch: 10 });
    assert.unreachable('the bad entry was shipped');
  } catch (e) {
    assert.match((e as Error).message, new RegExp(`refused at seq ${bad}\\b`));
  } finally {
    db.close();
  }
  const held = await pgRows(url, 'flush-b');
  // Whole batches before the bad entry, nothing of its batch.
  assert.is(held.length, Math.floor((bad - 1) / 10) * 10);
  assert.equal(held, localRows(good).slice(0, held.length));
  if (quiet) assert.ok(await flushed(), 'the batches committed before the refusal were left unflushed');
});

s.run();
