import Database from 'better-sqlite3';
import type pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPg, kyselyPg, migratePg } from '../src/fleet/pg.js';
import { shipLog, ShipRefused } from '../src/fleet/ship.js';
import { pgQuery, trafficLog } from './support/fleet.js';
import { requirePgCluster, type PgCluster } from './support/pg_cluster.js';

// Two shippers on one host, interleaved deterministically: the second runs to the end
// inside the first one's batch callback, so the first finds the head moved under it.
const s = suite('fleet_race');
let pgc: PgCluster;
let url = '';

s.before(async () => {
  pgc = await requirePgCluster();
  url = pgc.url;
  const k = kyselyPg(url);
  await migratePg(k);
  await k.destroy();
});
s.after(async () => {
  await pgc?.stop();
});

const client = (): Promise<pg.Client> => connectPg(url);

s('a shipper overtaken by another on the same host skips the identical rows and writes nothing twice', async () => {
  const path = await trafficLog(60);
  const db = new Database(path, { readonly: true });
  const [a, b] = [await client(), await client()];
  try {
    let raced = false;
    const ra = await shipLog(db, a, {
      host: 'h', batch: 10,
      onBatch: async () => {
        if (raced) return;
        raced = true;
        const rb = await shipLog(db, b, { host: 'h', batch: 7 });
        assert.ok(rb.shipped > 0);
      },
    });
    const total = (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    assert.is(ra.shipped, 10, 'the first batch only');
    assert.is(ra.skipped, total - 10, 'the rest was written by the other shipper: skipped');
    const rows = await pgQuery<{ n: string; d: string; hi: string }>(url, "SELECT count(*) AS n, count(DISTINCT seq) AS d, max(seq) AS hi FROM entries WHERE host = 'h'");
    assert.equal([Number(rows[0]!.n), Number(rows[0]!.d), Number(rows[0]!.hi)], [total, total, total]);
  } finally {
    db.close();
    await a.end();
    await b.end();
  }
});

s('a shipper overtaken by a different log under the same host name is refused at the first differing seq', async () => {
  const mine = await trafficLog(60);
  const theirs = await trafficLog(80, { tag: 3 });
  const dm = new Database(mine, { readonly: true });
  const dt = new Database(theirs, { readonly: true });
  const chains = (db: Database.Database) => (db.prepare('SELECT chain FROM entries ORDER BY seq').all() as Array<{ chain: string }>).map((r) => r.chain);
  const cm = chains(dm);
  const ct = chains(dt);
  const fork = cm.findIndex((c, i) => c !== ct[i]) + 1;
  const [a, b] = [await client(), await client()];
  try {
    let err: unknown = null;
    let raced = false;
    try {
      await shipLog(dm, a, {
        host: 'f', batch: Math.max(1, fork - 1),
        onBatch: async () => {
          if (raced) return;
          raced = true;
          await shipLog(dt, b, { host: 'f', batch: 5 });
        },
      });
    } catch (e) {
      err = e;
    }
    assert.instance(err, ShipRefused);
    assert.is((err as ShipRefused).seq, fork);
    assert.match((err as Error).message, new RegExp(`^host f: refused at seq ${fork}: `));
    const n = await pgQuery<{ n: string }>(url, "SELECT count(*) AS n FROM entries WHERE host = 'f'");
    assert.is(Number(n[0]!.n), ct.length, 'only the other log, whole');
  } finally {
    dm.close();
    dt.close();
    await a.end();
    await b.end();
  }
});

s.run();
