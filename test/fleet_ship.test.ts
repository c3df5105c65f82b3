import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, tmpDir } from './helpers.js';
import { cliAsync, localRows, pgRows, moreTraffic, pgQuery, trafficLog } from './support/fleet.js';
import { requirePgCluster, type PgCluster } from './support/pg_cluster.js';
import { attacker, copyLog, rechain } from './tamper.js';
import type { ExportRow } from '../src/store/export_rows.js';

const s = suite('fleet_ship');
let pgc: PgCluster;
let url = '';

s.before(async () => {
  pgc = await requirePgCluster();
  url = pgc.url;
});
s.after(async () => {
  await pgc?.stop();
});

const count = async (host: string): Promise<number> => Number((await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM entries WHERE host = $1', [host]))[0]!.n);
async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}
const ship = (db: string, host: string, ...more: string[]) => cliAsync(['ship', '--db', db, '--to', url, '--host', host, ...more]);

s('ship copies every row exactly; shipping again writes nothing twice; new entries ship from where it stopped', async () => {
  const path = await trafficLog(300);
  const local = localRows(path);
  const r1 = await ship(path, 'alpha', '--json');
  assert.is(r1.status, 0, r1.stderr);
  assert.is(JSON.parse(r1.stdout).shipped, local.length);
  assert.equal(await pgRows(url, 'alpha'), local);
  const r2 = await ship(path, 'alpha', '--json');
  assert.is(r2.status, 0, r2.stderr);
  assert.is(JSON.parse(r2.stdout).shipped, 0);
  assert.is(await count('alpha'), local.length);
  await moreTraffic(path, 50);
  const grown = localRows(path);
  assert.ok(grown.length > local.length);
  const r3 = await ship(path, 'alpha', '--json', '--batch', '7');
  assert.is(r3.status, 0, r3.stderr);
  assert.is(JSON.parse(r3.stdout).shipped, grown.length - local.length);
  assert.equal(await pgRows(url, 'alpha'), grown);
  const head = await pgQuery<{ head_seq: string; head_chain: string; source_seq: string }>(url, 'SELECT head_seq, head_chain, source_seq FROM hosts WHERE host = $1', ['alpha']);
  assert.equal([Number(head[0]!.head_seq), head[0]!.head_chain, Number(head[0]!.source_seq)], [grown.length, grown.at(-1)!.chain, grown.length]);
});

s('a shipper killed mid-batch leaves whole batches only; the next run completes', async () => {
  const path = await trafficLog(4000);
  const total = localRows(path).length;
  const child = spawn(process.execPath, [CLI, 'ship', '--db', path, '--to', url, '--host', 'killed', '--batch', '40'], { stdio: 'ignore' });
  let head = 0;
  for (let i = 0; i < 3000 && head === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    head = Number((await pgQuery<{ h: string }>(url, "SELECT coalesce(max(head_seq), 0) AS h FROM hosts WHERE host = 'killed'"))[0]!.h);
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  const n = await count('killed');
  assert.ok(n > 0 && n < total, `killed mid-way: ${n} of ${total} rows shipped`);
  assert.is(n % 40, 0, 'whole batches only');
  const h = await pgQuery<{ head_seq: string }>(url, "SELECT head_seq FROM hosts WHERE host = 'killed'");
  assert.is(Number(h[0]!.head_seq), n);
  const again = await ship(path, 'killed');
  assert.is(again.status, 0, again.stderr);
  assert.equal(await pgRows(url, 'killed'), localRows(path));
});

s('a local log rewritten, truncated or forked after shipping is refused naming host and first differing seq; nothing written', async () => {
  const orig = await trafficLog(40);
  assert.is((await ship(orig, 'bravo')).status, 0);
  const shipped = localRows(orig).length;
  // Rewritten: entry 20's text edited and every hash after it recomputed (the local log verifies).
  const rewritten = copyLog(orig);
  const db = attacker(rewritten);
  const e = JSON.parse((db.prepare('SELECT entry FROM entries WHERE seq = 20').get() as { entry: string }).entry);
  db.prepare('UPDATE entries SET entry = ? WHERE seq = 20').run(JSON.stringify({ ...e, at: '2020-01-01T00:00:00.000Z' }).replace(/\s/g, ''));
  rechain(db, 20);
  db.close();
  // Truncated: the first 30 entries only.
  const truncated = copyLog(orig, 'truncated.db');
  const t = attacker(truncated);
  t.prepare('DELETE FROM entries WHERE seq > 30').run();
  t.close();
  // Forked: the same first requests, then different ones, longer than what was shipped.
  const forked = await trafficLog(60, { tag: 3 });
  const a = localRows(orig);
  const b = localRows(forked);
  const firstFork = b.findIndex((r, i) => a[i]?.chain !== r.chain) + 1;
  assert.ok(firstFork > 1 && firstFork <= shipped, `the fork starts inside the shipped part (seq ${firstFork})`);

  for (const [path, seq] of [[rewritten, 20], [truncated, 31], [forked, firstFork]] as const) {
    const r = await ship(path, 'bravo');
    assert.is(r.status, 1, `${path}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^pasid-ledger: host bravo: refused at seq ${seq}: .*nothing written\\n$`));
    assert.is(await count('bravo'), shipped);
  }
  assert.equal(await pgRows(url, 'bravo'), a);
});

s('a local row whose text does not hash to its leaf is not shipped', async () => {
  const orig = await trafficLog(20);
  const bad = copyLog(orig);
  const db = attacker(bad);
  db.prepare("UPDATE entries SET entry = entry || ' ' WHERE seq = 12").run();
  db.close();
  const r = await ship(bad, 'charlie', '--batch', '5');
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /host charlie: refused at seq 12: the local log is bad/);
  assert.is(await count('charlie'), 10, 'the batches before the bad row');
});

s('8 hosts shipping at once plus a second shipper racing on one: no duplicate, no gap, all exit 0', async () => {
  const base = await trafficLog(800);
  const dir = tmpDir();
  const paths = Array.from({ length: 8 }, (_, i) => {
    const p = join(dir, `h${i}.db`);
    copyFileSync(base, p);
    return p;
  });
  const total = localRows(base).length;
  const runs = await Promise.all([
    ...paths.map((p, i) => ship(p, `race${i}`, '--batch', '50')),
    ship(paths[0]!, 'race0', '--batch', '30'),
  ]);
  for (const r of runs) assert.is(r.status, 0, r.stderr);
  const rows = await pgQuery<{ host: string; n: string; lo: string; hi: string; d: string }>(url,
    "SELECT host, count(*) AS n, min(seq) AS lo, max(seq) AS hi, count(DISTINCT seq) AS d FROM entries WHERE host LIKE 'race%' GROUP BY host ORDER BY host");
  assert.equal(rows.map((r) => [r.host, Number(r.n), Number(r.lo), Number(r.hi), Number(r.d)]), paths.map((_, i) => [`race${i}`, total, 1, total, total]));
  const v = await cliAsync(['fleet', 'verify', '--pg', url]);
  assert.is(v.status, 0, v.stdout + v.stderr);
});

s('the server refuses a row that breaks the chain, whoever inserts it, and any UPDATE or DELETE', async () => {
  const path = await trafficLog(5);
  assert.is((await ship(path, 'delta')).status, 0);
  const n = await count('delta');
  const last = localRows(path).at(-1)!;
  const insert = (leaf: string, chain: string, seq = n + 1) => pgQuery(url,
    "INSERT INTO entries (host, seq, entry, leaf, chain, at, type) VALUES ('delta', $1, '{\"x\":1}', $2, $3, 't', 'request')", [seq, leaf, chain]);
  const { leafHash, chainHash } = await import('../src/store/hash.js');
  const leaf = leafHash('{"x":1}');
  await rejects(() => insert('0'.repeat(64), chainHash(last.chain, '0'.repeat(64))), /host delta: seq \d+ refused: the entry text does not hash to its leaf/);
  await rejects(() => insert(leaf, chainHash('1'.repeat(64), leaf)), /the chain is not SHA-256 of the previous chain/);
  await rejects(() => insert(leaf, chainHash(last.chain, leaf), n + 2), /entry \d+ is missing/);
  await rejects(() => pgQuery(url, "UPDATE entries SET at = 'x' WHERE host = 'delta'"), /append-only: UPDATE refused/);
  await rejects(() => pgQuery(url, "DELETE FROM entries WHERE host = 'delta'"), /append-only: DELETE refused/);
  assert.is(await count('delta'), n);
  // The right row is accepted (the trigger is no blanket refusal) and moves the head.
  await insert(leaf, chainHash(last.chain, leaf));
  assert.is(Number((await pgQuery<{ h: string }>(url, "SELECT head_seq AS h FROM hosts WHERE host = 'delta'"))[0]!.h), n + 1);
});

s('texts and columns holding a backslash, a tab, a newline, a carriage return or non-ASCII arrive byte for byte (COPY escapes them)', async () => {
  const odd = copyLog(await trafficLog(30));
  const db = attacker(odd);
  // Odd but hashing texts: COPY's text format must escape them, not interpret them.
  db.prepare("UPDATE entries SET entry = substr(entry, 1, length(entry) - 1) || ',\"z\":\"a\\\\b\tc\nd\re \\N é 🦀\"}', vm = 'v\\m\t1\n' WHERE seq = 9").run();
  rechain(db, 9);
  db.close();
  const text = localRows(odd).find((r) => r.seq === 9)!.entry;
  assert.ok(/\\/.test(text) && text.includes('\t') && text.includes('\n') && text.includes('\r') && text.includes('\\N'), text);
  const r = await ship(odd, 'escapes', '--batch', '4');
  assert.is(r.status, 0, r.stderr);
  assert.equal(await pgRows(url, 'escapes'), localRows(odd));
  const vm = await pgQuery<{ vm: string }>(url, "SELECT vm FROM entries WHERE host = 'escapes' AND seq = 9");
  assert.is(vm[0]!.vm, 'v\\m\t1\n');
});

s('the trigger checks rows sent with COPY too (a statement-level trigger over its transition table)', async () => {
  const path = await trafficLog(5);
  assert.is((await ship(path, 'copycat')).status, 0);
  const n = await count('copycat');
  const last = localRows(path).at(-1)!;
  const { leafHash, chainHash } = await import('../src/store/hash.js');
  const { copyIn, copyText } = await import('../src/fleet/copy_in.js');
  const text = '{"x":2}';
  const leaf = leafHash(text);
  const row = (seq: number, l: string, chain: string): ExportRow => [seq, text, l, chain, 't', 'request', null, null, null, null, null, null, null, null];
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const copy = (rows: ExportRow[]) => copyIn(c, 'COPY entries (host, seq, entry, leaf, chain, at, type, op, machine, vm, container, mm, pasid, cause, request_id) FROM STDIN', copyText('copycat', rows));
    await rejects(() => copy([row(n + 1, '0'.repeat(64), chainHash(last.chain, '0'.repeat(64)))]), /host copycat: seq \d+ refused: the entry text does not hash to its leaf/);
    const good = chainHash(last.chain, leaf);
    await rejects(() => copy([row(n + 1, leaf, good), row(n + 2, leaf, chainHash('1'.repeat(64), leaf))]), /host copycat: seq \d+ refused: the chain is not SHA-256/);
    await rejects(() => copy([row(n + 2, leaf, chainHash(good, leaf))]), /entry \d+ is missing/);
    assert.is(await count('copycat'), n, 'nothing of a refused COPY');
    assert.is(await copy([row(n + 1, leaf, good), row(n + 2, leaf, chainHash(good, leaf))]), 2);
  } finally {
    await c.end();
  }
  assert.is(Number((await pgQuery<{ h: string }>(url, "SELECT head_seq AS h FROM hosts WHERE host = 'copycat'"))[0]!.h), n + 2);
});

s('--follow ships entries as the log grows (polling the file) and exits 0 on SIGTERM', async () => {
  const path = await trafficLog(20);
  const child = spawn(process.execPath, [CLI, 'ship', '--db', path, '--to', url, '--host', 'follow', '--follow', '--interval', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const until = async (n: number) => {
    for (let i = 0; i < 600 && (await count('follow')) < n; i++) await new Promise((r) => setTimeout(r, 50));
  };
  await until(localRows(path).length);
  assert.is(await count('follow'), localRows(path).length, out);
  await moreTraffic(path, 30);
  await until(localRows(path).length);
  const closed = new Promise<number | null>((r) => child.once('close', r));
  child.kill('SIGTERM');
  assert.is(await closed, 0, out);
  assert.equal(await pgRows(url, 'follow'), localRows(path));
  assert.match(out, /host follow: shipped \d+ entries/);
});

s('signed checkpoints the log keeps in a table ship with it; fleet verify checks their signatures', async () => {
  const path = await trafficLog(10);
  const dir = tmpDir();
  assert.is((await cliAsync(['keygen', '--out', join(dir, 'k')])).status, 0);
  const cp = await cliAsync(['checkpoint', '--db', path, '--key', join(dir, 'k.key'), '--out', join(dir, 'cp.json')]);
  assert.is(cp.status, 0, cp.stderr);
  const c = JSON.parse(readFileSync(join(dir, 'cp.json'), 'utf8')) as Record<string, string | number>;
  const db = new Database(path);
  db.exec('CREATE TABLE checkpoints (size INTEGER, chain TEXT, at TEXT, public_key TEXT, signature TEXT)');
  db.prepare('INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?)').run(c.size, c.chain, c.at, c.public_key, c.signature);
  db.close();
  const r = await ship(path, 'echo', '--json');
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).checkpoints, 1);
  const ok = await cliAsync(['fleet', 'verify', '--pg', url, '--host', 'echo']);
  assert.is(ok.status, 0, ok.stdout);
  assert.match(ok.stdout, /1 checkpoint\(s\) good/);
  await pgQuery(url, "UPDATE checkpoints SET at = '2020-01-01T00:00:00.000Z' WHERE host = 'echo'");
  const bad = await cliAsync(['fleet', 'verify', '--pg', url, '--host', 'echo']);
  assert.is(bad.status, 1);
  assert.match(bad.stdout, new RegExp(`host echo: seq ${c.size} is bad: checkpoint at seq ${c.size}: the signature does not match`));
});

s('bad input: no URL, a bad host name, a missing file exit 2 with one line', async () => {
  const path = await trafficLog(2);
  const env = { ...process.env, PASID_LEDGER_PG: '' };
  for (const args of [['ship', '--db', path], ['ship', '--db', path, '--to', url, '--host', 'a b\u0007'], ['ship', '--db', join(tmpDir(), 'none.db'), '--to', url], ['ship', '--db', path, '--to', 'http://x']]) {
    const r = await cliAsync(args, env);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^pasid-ledger: [^\n]+\n$/);
  }
});

s.run();
