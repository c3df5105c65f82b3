import Database from 'better-sqlite3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../src/client/connect.js';
import { openEntryStream } from '../src/client/entry_stream.js';
import { CLI, tmpDir } from './helpers.js';
import { http } from './fixtures/http.js';
import { cliAsync, localRows, moreTraffic, pgRows, pgQuery, trafficLog } from './support/fleet.js';
import { requirePgCluster, type PgCluster } from './support/pg_cluster.js';
import { serveProcess } from './support/serve_process.js';

const s = suite('fleet_follow_serve');
let pgc: PgCluster;
let url = '';

s.before(async () => {
  pgc = await requirePgCluster();
  url = pgc.url;
});
s.after(async () => {
  await pgc?.stop();
});

const pgHead = async (host: string): Promise<number> =>
  Number((await pgQuery<{ h: string }>(url, 'SELECT coalesce(max(head_seq), 0) AS h FROM hosts WHERE host = $1', [host]))[0]!.h);

/** A traffic log with an admin token; the token's secret. */
async function servedLog(rounds: number, start?: string): Promise<{ path: string; token: string; dir: string }> {
  const dir = tmpDir();
  const path = await trafficLog(rounds, { path: join(dir, 'host.db'), ...(start ? { start } : {}) });
  const t = spawnSync(process.execPath, [CLI, 'token', 'add', '--db', path, '--role', 'admin'], { encoding: 'utf8' });
  assert.is(t.status, 0, t.stderr);
  return { path, token: t.stdout.trim(), dir };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  assert.is(await exited, 0, 'serve exits 0 on SIGTERM');
}

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.unreachable(`timed out waiting for ${what}`);
}

/** The server's head seq (the Pasid-Ledger-Head header of an empty read). */
async function serverHead(socket: string, token: string): Promise<number> {
  const st = await openEntryStream({ socket, token, from: 1, limit: 0 });
  st.close();
  return st.head;
}

/** Requests over HTTP: allocations and frees on vm1's and vm2's containers, one at a time and in arrays. */
async function httpTraffic(socket: string, token: string, n: number): Promise<void> {
  const c = connect({ socket, token });
  try {
    for (let i = 0; i < n; i++) {
      const container = i % 2 === 0 ? 'c1' : 'c2';
      if (i % 5 === 4) await c.batch([{ op: 'pasid_alloc', container, min: 1, max: 0xfffff }, { op: 'pasid_free', container, pasid: (i % 6) + 1 }] as never);
      else await c.request({ op: i % 3 === 2 ? 'pasid_free' : 'pasid_alloc', container, ...(i % 3 === 2 ? { pasid: (i % 6) + 1 } : { min: 1, max: 0xfffff }) } as never);
    }
  } finally {
    c.close();
  }
}

s('/v1/entries: Pasid-Ledger-Head, Pasid-Ledger-Prev-Chain and limit; the stream is framed into exact entry texts', async () => {
  const { path, token, dir } = await servedLog(40);
  const rows = localRows(path);
  const socket = join(dir, 's.sock');
  const child = await serveProcess(path, socket);
  try {
    const all = await openEntryStream({ socket, token, from: 1 });
    assert.is(all.head, rows.length);
    assert.is(all.prevChain, '0'.repeat(64));
    const got: string[] = [];
    for (let b = await all.take(7); b && b.length > 0; b = await all.take(7)) got.push(...b);
    assert.equal(got, rows.map((r) => r.entry));
    const some = await openEntryStream({ socket, token, from: 10, limit: 3 });
    assert.is(some.prevChain, rows[8]!.chain);
    assert.equal(await some.take(100), rows.slice(9, 12).map((r) => r.entry));
    assert.equal(await some.take(100), []);
    const past = await openEntryStream({ socket, token, from: rows.length + 5, limit: 0 });
    assert.is(past.prevChain, null);
    assert.is(past.head, rows.length);
    past.close();
    try {
      await openEntryStream({ socket, token, from: 1, limit: -1 });
      assert.unreachable('limit=-1 is refused');
    } catch (e) {
      assert.match((e as Error).message, /400: "limit" must be a count of entries/);
    }
  } finally {
    await stopServer(child);
  }
});

s('the entry stream is framed into whole lines: lines and UTF-8 characters split across chunks, blank heartbeat lines, a cut-off last line', async () => {
  const dir = tmpDir();
  const socket = join(dir, 'raw.sock');
  const lines = ['{"seq":1,"vm":"vm-é"}', '{"seq":2,"vm":"vm-😀"}', '{"seq":3}'];
  const body = Buffer.from(`${lines[0]}\n\n${lines[1]}\n \n${lines[2]}\n`, 'utf8');
  // Cut inside the 2-byte é, inside the 4-byte emoji, and around the blank lines.
  const cuts = [3, body.indexOf(0xc3) + 1, body.indexOf(0xf0) + 2, body.indexOf(0xf0) + 3, body.length - 4];
  let cutLast = false;
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Pasid-Ledger-Head': '3' });
    const pieces = cuts.map((c, i) => body.subarray(i === 0 ? 0 : cuts[i - 1], c)).concat([body.subarray(cuts.at(-1))]);
    if (cutLast) pieces.push(Buffer.from('{"seq":4'));
    let i = 0;
    const next = () => {
      if (i === pieces.length) return res.end();
      res.write(pieces[i++]);
      setTimeout(next, 15);
    };
    next();
  });
  await new Promise<void>((r) => srv.listen(socket, r));
  try {
    const st = await openEntryStream({ socket, token: 'x' });
    assert.is(st.head, 3);
    const got: string[] = [];
    for (let b = await st.take(100); b && b.length > 0; b = await st.take(100)) got.push(...b);
    assert.equal(got, lines);
    cutLast = true;
    const cut = await openEntryStream({ socket, token: 'x' });
    const seen: string[] = [];
    try {
      for (let b = await cut.take(100); b && b.length > 0; b = await cut.take(100)) seen.push(...b);
      assert.unreachable('a cut-off last line is an error');
    } catch (e) {
      assert.match((e as Error).message, /ended inside a line/);
    }
    assert.equal(seen, lines);
  } finally {
    srv.close();
  }
});

s('(a) ship --from-server copies every entry: row for row what ship --db writes (text, leaf, chain)', async () => {
  const { path, token, dir } = await servedLog(300);
  const socket = join(dir, 's.sock');
  const child = await serveProcess(path, socket);
  let r;
  try {
    r = await cliAsync(['ship', '--from-server', socket, '--to', url, '--host', 'srv-a', '--batch', '7', '--json'], { ...process.env, PASID_LEDGER_TOKEN: token });
  } finally {
    await stopServer(child);
  }
  assert.is(r.status, 0, r.stderr);
  const local = localRows(path);
  const out = JSON.parse(r.stdout);
  assert.equal([out.shipped, out.head, out.local], [local.length, local.length, local.length]);
  const f = await cliAsync(['ship', '--db', path, '--to', url, '--host', 'file-a']);
  assert.is(f.status, 0, f.stderr);
  const viaServer = await pgRows(url, 'srv-a');
  assert.equal(viaServer, await pgRows(url, 'file-a'));
  assert.equal(viaServer, local);
  // Every column, not only the hashes: the indexing columns are those the file shipper copies.
  const cols = 'seq, entry, leaf, chain, at, type, op, machine, vm, container, mm, pasid, cause, request_id';
  const a = await pgQuery(url, `SELECT ${cols} FROM entries WHERE host = 'srv-a' ORDER BY seq`);
  const b = await pgQuery(url, `SELECT ${cols} FROM entries WHERE host = 'file-a' ORDER BY seq`);
  assert.equal(a, b);
  const v = await cliAsync(['fleet', 'verify', '--pg', url, '--host', 'srv-a']);
  assert.is(v.status, 0, v.stdout + v.stderr);
});

s('(b) ship --from-server --follow picks up entries committed over HTTP after it started; SIGTERM -> exit 0, no gap', async () => {
  const { path, token, dir } = await servedLog(120);
  const socket = join(dir, 's.sock');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const child = await serveProcess(path, socket);
  const start = localRows(path).length;
  const shipper = spawn(process.execPath, [CLI, 'ship', '--from-server', socket, '--token-file', tokenFile, '--to', url, '--host', 'srv-b', '--follow', '--batch', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  shipper.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  shipper.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((r) => shipper.once('exit', r));
  try {
    await until('the shipper to ship the log so far', async () => (await pgHead('srv-b')) === start);
    await httpTraffic(socket, token, 60);
    const head = await serverHead(socket, token);
    assert.ok(head > start, `${head} > ${start}`);
    await until('the shipper to ship the entries committed over HTTP', async () => (await pgHead('srv-b')) === head);
    // More while it runs, then SIGTERM at once: what it shipped has no gap.
    await httpTraffic(socket, token, 10);
    shipper.kill('SIGTERM');
    assert.is(await exited, 0, err);
  } finally {
    if (shipper.exitCode === null) shipper.kill('SIGKILL');
    await stopServer(child);
  }
  assert.match(out, /host srv-b: shipped \d+ entries/);
  const local = localRows(path);
  const shipped = await pgRows(url, 'srv-b');
  assert.ok(shipped.length >= local.length - 12, `${shipped.length} of ${local.length}`);
  assert.equal(shipped, local.slice(0, shipped.length));
  // The rest ships on the next run, from where it stopped.
  const f = await cliAsync(['ship', '--db', path, '--to', url, '--host', 'srv-b', '--json']);
  assert.is(f.status, 0, f.stderr);
  assert.equal(await pgRows(url, 'srv-b'), local);
});

s('(c) ship --from-server is resumable and idempotent, also after ship --db; a server whose log differs from what was shipped is refused', async () => {
  const { path, token, dir } = await servedLog(200);
  const socket = join(dir, 's.sock');
  const child = await serveProcess(path, socket);
  let m = 0;
  try {
    const ship = (host: string, ...more: string[]) => cliAsync(['ship', '--from-server', socket, '--token', token, '--to', url, '--host', host, '--json', ...more]);
    const n = localRows(path).length;
    const r1 = await ship('srv-c');
    assert.is(r1.status, 0, r1.stderr);
    assert.is(JSON.parse(r1.stdout).shipped, n);
    const r2 = await ship('srv-c');
    assert.is(r2.status, 0, r2.stderr);
    assert.equal([JSON.parse(r2.stdout).shipped, JSON.parse(r2.stdout).head], [0, n]);
    await httpTraffic(socket, token, 15);
    m = await serverHead(socket, token);
    const r3 = await ship('srv-c', '--batch', '4');
    assert.is(r3.status, 0, r3.stderr);
    assert.is(JSON.parse(r3.stdout).shipped, m - n);
    const r4 = await ship('srv-c');
    assert.is(JSON.parse(r4.stdout).shipped, 0);
    assert.is(Number((await pgQuery<{ n: string }>(url, "SELECT count(*) AS n FROM entries WHERE host = 'srv-c'"))[0]!.n), m);
    // Resumable across sources: the file shipper started the host, the server shipper goes on.
    const f = await cliAsync(['ship', '--db', path, '--to', url, '--host', 'mixed']);
    assert.is(f.status, 0, f.stderr);
    await httpTraffic(socket, token, 6);
    const r5 = await ship('mixed');
    assert.is(r5.status, 0, r5.stderr);
    assert.is(JSON.parse(r5.stdout).shipped, (await serverHead(socket, token)) - m);
    // Another log under the same host name: refused, naming the first differing seq; nothing written.
    const other = await servedLog(5, '2025-01-01T00:00:00.000Z');
    const o = await cliAsync(['ship', '--db', other.path, '--to', url, '--host', 'fork']);
    assert.is(o.status, 0, o.stderr);
    const bad = await ship('fork');
    assert.is(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /host fork: refused at seq 1: the server's log differs from what was shipped from seq 1 on/);
    assert.equal(await pgRows(url, 'fork'), localRows(other.path));
    // A wrong token is bad input (exit 2), nothing shipped.
    const noTok = await cliAsync(['ship', '--from-server', socket, '--token', 'plt_nope', '--to', url, '--host', 'srv-c2']);
    assert.is(noTok.status, 2);
    assert.match(noTok.stderr, /401/);
  } finally {
    await stopServer(child);
  }
  assert.equal(await pgRows(url, 'srv-c'), localRows(path).slice(0, m));
  assert.equal(await pgRows(url, 'mixed'), localRows(path));
});

s('(d) serve --ship-to: requests over HTTP end up in PostgreSQL; after SIGTERM fleet verify passes and the rows are the log', async () => {
  const { path, token, dir } = await servedLog(80);
  const socket = join(dir, 's.sock');
  const child = await serveProcess(path, socket, ['--ship-to', url, '--ship-host', 'srv-d']);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  try {
    await until('the server to ship its log at start', async () => (await pgHead('srv-d')) === localRows(path).length);
    await httpTraffic(socket, token, 40);
    const head = await serverHead(socket, token);
    await until('the server to ship the entries committed over HTTP', async () => (await pgHead('srv-d')) === head);
    // Commits right before SIGTERM are shipped on the way out.
    await httpTraffic(socket, token, 10);
  } finally {
    await stopServer(child);
  }
  assert.not.match(err, /ship-to srv-d:/, err);
  const local = localRows(path);
  assert.equal(await pgRows(url, 'srv-d'), local);
  assert.is(await pgHead('srv-d'), local.length);
  const v = await cliAsync(['fleet', 'verify', '--pg', url, '--host', 'srv-d']);
  assert.is(v.status, 0, v.stdout + v.stderr);
});

s('serve --ship-to with no PostgreSQL there: requests still succeed, the error is logged, the server exits 0', async () => {
  const { path, token, dir } = await servedLog(10);
  const socket = join(dir, 's.sock');
  const child = await serveProcess(path, socket, ['--ship-to', 'postgres://nobody@127.0.0.1:1/none', '--ship-host', 'srv-e']);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  try {
    await httpTraffic(socket, token, 5);
  } finally {
    await stopServer(child);
  }
  assert.match(err, /ship-to srv-e: .*retrying in \d+ ms/);
});

s('GET /v1/checkpoints: the log\'s stored checkpoints by size for admin and auditor tokens (401 without, 403 vmm); ship --from-server copies them as ship --db does', async () => {
  const { path, token, dir } = await servedLog(60);
  // Two checkpoints `checkpoint --key` signed at two sizes, kept in the log's checkpoints
  // table (stored out of order), and a row past the head that no shipper may copy.
  assert.is((await cliAsync(['keygen', '--out', join(dir, 'k')])).status, 0);
  const sign = async (name: string): Promise<Record<string, unknown>> => {
    const r = await cliAsync(['checkpoint', '--db', path, '--key', join(dir, 'k.key'), '--out', join(dir, name)]);
    assert.is(r.status, 0, r.stderr);
    const { format: _f, ...row } = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    return row;
  };
  const cp1 = await sign('cp1.json');
  await moreTraffic(path, 20);
  const cp2 = await sign('cp2.json');
  const head = localRows(path).length;
  const past = { ...cp2, size: head + 100 };
  const db = new Database(path);
  db.exec('CREATE TABLE checkpoints (size INTEGER, chain TEXT, at TEXT, public_key TEXT, signature TEXT)');
  const put = db.prepare('INSERT INTO checkpoints VALUES (@size, @chain, @at, @public_key, @signature)');
  for (const c of [past, cp2, cp1]) put.run(c);
  db.close();
  const add = (...a: string[]) => spawnSync(process.execPath, [CLI, 'token', 'add', '--db', path, ...a], { encoding: 'utf8' }).stdout.trim();
  const auditor = add('--role', 'auditor');
  const vmm = add('--role', 'vmm', '--vm', 'vm1');
  const socket = join(dir, 's.sock');
  const child = await serveProcess(path, socket);
  let r;
  let again;
  try {
    assert.is((await http(socket, 'GET', '/v1/checkpoints')).status, 401);
    const v = await http(socket, 'GET', '/v1/checkpoints', { token: vmm });
    assert.is(v.status, 403);
    assert.match(v.json.error, /vmm token may not read the whole host/);
    for (const t of [token, auditor]) {
      const a = await http(socket, 'GET', '/v1/checkpoints', { token: t });
      assert.is(a.status, 200, a.text);
      assert.equal(a.json, [cp1, cp2, past]);
    }
    assert.equal((await http(socket, 'GET', `/v1/checkpoints?after=${cp1.size}`, { token: auditor })).json, [cp2, past]);
    assert.equal((await http(socket, 'GET', `/v1/checkpoints?after=${head + 100}`, { token: auditor })).json, []);
    const bad = await http(socket, 'GET', '/v1/checkpoints?after=-1', { token: auditor });
    assert.is(bad.status, 400);
    assert.match(bad.json.error, /"after" must be a size/);
    r = await cliAsync(['ship', '--from-server', socket, '--token', auditor, '--to', url, '--host', 'srv-cp', '--json']);
    again = await cliAsync(['ship', '--from-server', socket, '--token', auditor, '--to', url, '--host', 'srv-cp', '--json']);
  } finally {
    await stopServer(child);
  }
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).checkpoints, 2);
  assert.is(JSON.parse(again.stdout).checkpoints, 0, 'nothing twice');
  const f = await cliAsync(['ship', '--db', path, '--to', url, '--host', 'file-cp', '--json']);
  assert.is(f.status, 0, f.stderr);
  assert.is(JSON.parse(f.stdout).checkpoints, 2);
  const rows = (host: string) => pgQuery(url, 'SELECT size, chain, at, public_key, signature FROM checkpoints WHERE host = $1 ORDER BY size, signature', [host]);
  const viaServer = await rows('srv-cp');
  assert.equal(viaServer, await rows('file-cp'));
  assert.equal(viaServer.map((c) => ({ ...c, size: Number(c.size) })), [cp1, cp2]);
  const ok = await cliAsync(['fleet', 'verify', '--pg', url, '--host', 'srv-cp']);
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /2 checkpoint\(s\) good/);
});

s.run();
