import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import type pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPg, kyselyPg, migratePg } from '../src/fleet/pg.js';
import { shipLog, ShipRefused } from '../src/fleet/ship.js';
import { PassTimedOut, ShipLoop, type ShipLoopOptions } from '../src/fleet/ship_loop.js';
import { EntryLog } from '../src/store/log.js';
import { CLI } from './helpers.js';
import { localRows, moreTraffic, pgQuery, pgRows, trafficLog } from './support/fleet.js';
import { requirePgCluster, type PgCluster } from './support/pg_cluster.js';

// The one loop of `ship --db --follow` and `serve --ship-to`, around real shipLog passes
// from a real SQLite log into a real PostgreSQL.
const s = suite('fleet_ship_loop');
let pgc: PgCluster;
let url = '';
/** Nothing listens there: connecting fails at once (ECONNREFUSED). */
const NOWHERE = 'postgres://nobody@127.0.0.1:1/none';

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

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.unreachable(`timed out waiting for ${what}`);
    await delay(20);
  }
}
const count = async (host: string): Promise<number> => Number((await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM entries WHERE host = $1', [host]))[0]!.n);

/**
 * A loop whose pass is shipLog of the log at `path` as `host`, over a new connection to
 * `target()` each time (default: the test cluster); each pass's start time and promise.
 */
function shipping(path: string, host: string, o: Partial<ShipLoopOptions> & { target?: () => string } = {}) {
  const { target, ...options } = o;
  const db = new Database(path, { readonly: true });
  const log = new EntryLog(db);
  const starts: number[] = [];
  const passes: Array<Promise<unknown>> = [];
  const ac = new AbortController();
  const pass = async (): Promise<number> => {
    const c: pg.Client = await connectPg(target?.() ?? url);
    try {
      return (await shipLog(db, c, { host })).local;
    } finally {
      await c.end();
    }
  };
  const loop = new ShipLoop({
    signal: ac.signal,
    pollMs: 60_000,
    head: () => log.head().seq,
    pass: () => {
      starts.push(Date.now());
      const p = pass();
      passes.push(p.catch(() => {}));
      return p;
    },
    ...options,
  });
  return { loop, ac, starts, passes, close: () => db.close() };
}

s('a pass at once, then one per wake() (not before: the poll is a minute away)', async () => {
  const path = await trafficLog(20);
  const t = shipping(path, 'wake');
  const run = t.loop.run();
  try {
    await until('the first pass', async () => (await count('wake')) === localRows(path).length);
    await moreTraffic(path, 10);
    await delay(300);
    assert.is(t.starts.length, 1, 'no pass without a wake');
    assert.ok(await count('wake') < localRows(path).length);
    const woken = Date.now();
    t.loop.wake();
    await until('the woken pass', async () => (await count('wake')) === localRows(path).length);
    assert.ok(Date.now() - woken < 5000);
    assert.is(t.starts.length, 2);
  } finally {
    t.ac.abort();
    await run;
    t.close();
  }
  assert.equal(await pgRows(url, 'wake'), localRows(path));
});

s('polling: a head another writer moved is shipped; an unchanged head costs no pass; an idle source calls in every callInMs', async () => {
  const path = await trafficLog(20);
  const polled = shipping(path, 'poll', { pollMs: 20 });
  const run = polled.loop.run();
  try {
    await until('the first pass', async () => (await count('poll')) === localRows(path).length);
    await delay(400);
    assert.is(polled.starts.length, 1, 'an unchanged head is not passed again');
    await moreTraffic(path, 10);
    await until('the moved head to ship', async () => (await count('poll')) === localRows(path).length);
    assert.is(polled.starts.length, 2);
  } finally {
    polled.ac.abort();
    await run;
    polled.close();
  }
  const seen = async () => String((await pgQuery<{ t: Date }>(url, "SELECT seen_at AS t FROM hosts WHERE host = 'poll'"))[0]!.t.getTime());
  const before = await seen();
  const idle = shipping(path, 'poll', { pollMs: 20, callInMs: 150 });
  const idleRun = idle.loop.run();
  await delay(1000);
  idle.ac.abort();
  await idleRun;
  idle.close();
  // One pass at once, then one per 150 ms (each after a 20 ms poll): about 6 in a second.
  assert.ok(idle.starts.length >= 3 && idle.starts.length <= 8, `${idle.starts.length} passes`);
  for (let i = 1; i < idle.starts.length; i++) assert.ok(idle.starts[i]! - idle.starts[i - 1]! >= 150, `pass ${i}`);
  assert.is.not(await seen(), before, 'the idle passes called in');
  assert.equal(await pgRows(url, 'poll'), localRows(path));
});

s('retry: a failed pass waits firstMs doubling to maxMs (a wake does not cut it short), a good pass starts over at firstMs', async () => {
  const path = await trafficLog(10);
  let target = NOWHERE;
  const told: Array<[string, number]> = [];
  let t: ReturnType<typeof shipping>;
  t = shipping(path, 'retry', {
    target: () => target,
    retry: {
      firstMs: 40, maxMs: 160,
      onError: (e, ms) => {
        told.push([e.message, ms]);
        t.loop.wake();
        if (told.length === 5) target = url;
      },
    },
  });
  const run = t.loop.run();
  try {
    await until('the pass after five errors', async () => (await count('retry')) === localRows(path).length);
    assert.equal(told.map(([, ms]) => ms), [40, 80, 160, 160, 160]);
    assert.match(told[0]![0], /cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/none/);
    assert.is(t.starts.length, 6);
    for (let i = 1; i < 6; i++) assert.ok(t.starts[i]! - t.starts[i - 1]! >= told[i - 1]![1] - 2, `try ${i + 1} after its backoff`);
    target = NOWHERE;
    t.loop.wake();
    await until('the next error', () => told.length === 6);
    assert.is(told[5]![1], 40, 'a good pass starts the backoff over');
  } finally {
    t.ac.abort();
    await run;
    t.close();
  }
});

s('without retry the first error ends run(), which rejects with it', async () => {
  const path = await trafficLog(10);
  const other = await trafficLog(10, { start: '2027-01-01T00:00:00.000Z' });
  const t = shipping(path, 'ends', { pollMs: 20 });
  const first = t.loop.run();
  await until('the first pass', async () => (await count('ends')) === localRows(path).length);
  t.ac.abort();
  await first;
  t.close();
  const forked = shipping(other, 'ends', { pollMs: 20 });
  const ended = await Promise.race([
    forked.loop.run().then(() => 'resolved', (e: unknown) => e),
    delay(10_000).then(() => 'still running after 10 s'),
  ]);
  forked.ac.abort();
  await Promise.all(forked.passes);
  forked.close();
  assert.instance(ended, ShipRefused, String(ended));
  assert.match((ended as Error).message, /host ends: refused at seq 1:/);
  assert.is(forked.starts.length, 1);
  assert.equal(await pgRows(url, 'ends'), localRows(path));
});

s('ship --db --follow ends at the first error: a forked log is refused, exit 1, one line', async () => {
  const path = await trafficLog(10);
  const other = await trafficLog(10, { start: '2027-01-01T00:00:00.000Z' });
  const ship = (db: string) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [CLI, 'ship', '--db', db, '--to', url, '--host', 'cli-ends', '--follow', '--interval', '20'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (status) => { clearTimeout(kill); resolve({ status, stderr }); });
  });
  const ok = spawn(process.execPath, [CLI, 'ship', '--db', path, '--to', url, '--host', 'cli-ends', '--follow', '--interval', '20'], { stdio: 'ignore' });
  await until('the first log to ship', async () => (await count('cli-ends')) === localRows(path).length);
  const closed = new Promise<number | null>((r) => ok.once('close', r));
  ok.kill('SIGTERM');
  assert.is(await closed, 0);
  const r = await ship(other);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^pasid-ledger: host cli-ends: refused at seq 1: [^\n]*nothing written\n$/);
});

s('final: after abort, what came in since the last pass is shipped on the way out; a closed source gets no final pass', async () => {
  const path = await trafficLog(20);
  const told: string[] = [];
  const t = shipping(path, 'final', { final: { tries: 3, waitMs: 5000, onError: (e) => { told.push(e.message); } } });
  const run = t.loop.run();
  await until('the first pass', async () => (await count('final')) === localRows(path).length);
  await moreTraffic(path, 10);
  t.ac.abort();
  await run;
  t.close();
  assert.is(t.starts.length, 2);
  assert.equal(told, []);
  assert.equal(await pgRows(url, 'final'), localRows(path));

  await moreTraffic(path, 5);
  let open = true;
  const shut = shipping(path, 'final', { open: () => open, final: { tries: 3, waitMs: 5000, onError: (e) => { told.push(e.message); } } });
  const shutRun = shut.loop.run();
  await until('the first pass', async () => (await count('final')) === localRows(path).length);
  await moreTraffic(path, 5);
  open = false;
  shut.ac.abort();
  await shutRun;
  shut.close();
  assert.is(shut.starts.length, 1);
  assert.ok(await count('final') < localRows(path).length);
});

s('final: a PostgreSQL that does not answer (its head row locked) holds the way out at most waitMs for the pass in flight plus tries × waitMs', async () => {
  const path = await trafficLog(20);
  const told: Array<[Error, boolean]> = [];
  const t = shipping(path, 'stuck', { final: { tries: 3, waitMs: 300, onError: (e, last) => { told.push([e, last]); } } });
  const run = t.loop.run();
  await until('the first pass', async () => (await count('stuck')) === localRows(path).length);
  const holder = await connectPg(url);
  try {
    await holder.query('BEGIN');
    await holder.query("SELECT host FROM hosts WHERE host = 'stuck' FOR UPDATE");
    await moreTraffic(path, 10);
    t.loop.wake();
    await until('the woken pass to start', () => t.starts.length === 2);
    const stopping = Date.now();
    t.ac.abort();
    assert.ok(await Promise.race([run.then(() => true), delay(15_000).then(() => false)]), 'run() ended within 15 s');
    const took = Date.now() - stopping;
    // 300 ms for the pass in flight, 3 × 300 ms tries, 0.5 s + 1 s between them.
    assert.ok(took >= 2600 && took < 6000, `${took} ms`);
    assert.is(told.length, 3);
    assert.equal(told.map(([, last]) => last), [false, false, true]);
    for (const [e] of told) {
      assert.instance(e, PassTimedOut);
      assert.is(e.message, 'PostgreSQL did not answer within 0.3 s');
    }
    assert.ok(await count('stuck') < localRows(path).length);
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
    await run;
  }
  // Unblocked, the passes that timed out finish: the rows arrive once each.
  await Promise.all(t.passes);
  t.close();
  assert.is(t.passes.length, 5);
  assert.equal(await pgRows(url, 'stuck'), localRows(path));
});

s.run();
