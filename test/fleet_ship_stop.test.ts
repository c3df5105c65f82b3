import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, tmpDir } from './helpers.js';
import { cliAsync, localRows, pgQuery, pgRows, trafficLog } from './support/fleet.js';
import { requirePgCluster, type PgCluster } from './support/pg_cluster.js';

// SIGTERM while `ship --follow` still connects to PostgreSQL or migrates its schema:
// the command closes what it opened and exits 0, nothing shipped.

const s = suite('fleet_ship_stop');
let pgc: PgCluster;
let url = '';

s.before(async () => {
  pgc = await requirePgCluster();
  url = pgc.url;
});
s.after(async () => {
  await pgc?.stop();
});

/** kysely's PostgreSQL migration lock (pg_advisory_lock key of its Migrator). */
const MIGRATION_LOCK = '3853314791062309107';

/** A TCP server on 127.0.0.1 that accepts connections and never answers; each accepted socket. */
async function silentServer(): Promise<{ port: number; server: Server; sockets: Socket[]; accepted: Promise<Socket> }> {
  const sockets: Socket[] = [];
  let first!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => { first = r; });
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    sock.resume(); // read (and drop) what the client sends: its close is then seen
    first(sock);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server, sockets, accepted };
}

/** Starts the CLI; its exit (code and signal) and output. */
function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, exit, out: () => out, err: () => err };
}

/** The exit, or a failure when it takes longer than `ms` (the child is killed). */
async function within<T>(p: Promise<T>, ms: number, child: ReturnType<typeof start>['child']): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no exit within ${ms} ms after SIGTERM`)); }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(t);
  }
}

const closed = (sock: Socket): Promise<void> => new Promise((r) => (sock.destroyed ? r() : sock.once('close', () => r())));

for (const source of ['--db', '--from-server'] as const) {
  s(`ship ${source} --follow: SIGTERM while PostgreSQL accepts and never answers -> exit 0, the connection closed, nothing shipped`, async () => {
    const path = await trafficLog(10);
    const silent = await silentServer();
    const from = source === '--db' ? ['--db', path] : ['--from-server', join(tmpDir(), 'none.sock'), '--token', 'plt_unused'];
    const p = start(['ship', ...from, '--to', `postgres://nobody@127.0.0.1:${silent.port}/fleet`, '--host', 'stop-a', '--follow']);
    try {
      const sock = await silent.accepted;
      p.child.kill('SIGTERM');
      const { code, signal } = await within(p.exit, 5000, p.child);
      assert.equal({ code, signal }, { code: 0, signal: null }, p.err());
      await closed(sock);
      assert.ok(silent.sockets.every((x) => x.destroyed || x.readableEnded), 'every connection it opened is closed');
      assert.is(p.out(), 'host stop-a: stopped before shipping; nothing shipped\n');
      assert.is(p.err(), '');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
      silent.server.close();
      for (const x of silent.sockets) x.destroy();
    }
  });
}

s('ship --db --follow: SIGTERM while the migration waits for another shipper\'s lock on a real PostgreSQL -> exit 0, its session gone, nothing shipped; later runs ship', async () => {
  const path = await trafficLog(20);
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  let locked = true;
  try {
    await holder.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
    const p = start(['ship', '--db', path, '--to', url, '--host', 'stop-b', '--follow', '--json']);
    try {
      const waiting = async () => Number((await pgQuery<{ n: string }>(url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pasid-ledger' AND wait_event_type = 'Lock'"))[0]!.n);
      const end = Date.now() + 20_000;
      while ((await waiting()) === 0) {
        assert.ok(Date.now() < end, `the shipper never waited for the migration lock: ${p.err()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      p.child.kill('SIGTERM');
      const { code, signal } = await within(p.exit, 5000, p.child);
      assert.equal({ code, signal }, { code: 0, signal: null }, p.err());
      assert.equal(JSON.parse(p.out()), { host: 'stop-b', stopped: true, shipped: 0, skipped: 0, checkpoints: 0 });
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
    // Its sessions go (a backend blocked on a lock notices the closed socket once the lock is free).
    await holder.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
    locked = false;
    const end = Date.now() + 5000;
    const left = async () => Number((await pgQuery<{ n: string }>(url, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pasid-ledger'"))[0]!.n);
    while ((await left()) > 0) {
      assert.ok(Date.now() < end, 'the shipper\'s PostgreSQL sessions are gone');
      await new Promise((r) => setTimeout(r, 25));
    }
    // The migration it was running rolled back: no fleet table, nothing shipped.
    assert.equal(await pgQuery(url, "SELECT to_regclass('entries') AS t, to_regclass('hosts') AS h"), [{ t: null, h: null }]);
    const again = await cliAsync(['ship', '--db', path, '--to', url, '--host', 'stop-b', '--json']);
    assert.is(again.status, 0, again.stderr);
    assert.equal(await pgRows(url, 'stop-b'), localRows(path));
  } finally {
    if (locked) await holder.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {});
    await holder.end();
  }
});

s('ship --db --follow: SIGTERM once connected still ends it at a batch boundary with exit 0 (unchanged)', async () => {
  const path = await trafficLog(30);
  const p = start(['ship', '--db', path, '--to', url, '--host', 'stop-c', '--follow', '--interval', '50']);
  try {
    const end = Date.now() + 20_000;
    while (!p.out().includes('host stop-c: shipped')) {
      assert.ok(Date.now() < end, `never shipped: ${p.err()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    p.child.kill('SIGTERM');
    const { code, signal } = await within(p.exit, 5000, p.child);
    assert.equal({ code, signal }, { code: 0, signal: null }, p.err());
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
  assert.equal(await pgRows(url, 'stop-c'), localRows(path));
});

s.run();
