import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, get as httpGet, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openLedger } from '../src/ledger.js';
import { viewState } from '../src/model/view.js';
import { diff } from '../src/replay/diff.js';
import { explain } from '../src/replay/explain.js';
import { replayTo } from '../src/replay/replay_to.js';
import { createExploreApi } from '../src/explore/api.js';
import { checkpointText } from '../src/replay/proofs.js';
import { verifyBundle } from '../src/tlog/bundle.js';
import { ALG_ED25519, formatVerifierKey, generateSigner, parseVerifierKey, type NoteVerifier } from '../src/tlog/keys.js';
import { startExplorer, type Explorer } from '../src/explore/server.js';
import { openDatabase } from '../src/store/open.js';
import { demoLog, type DemoLog } from './explore_story.js';
import { CLI, setupVm, steppingClock, tmpDb } from './helpers.js';

const s = suite('explore_api');

let demo: DemoLog;
let x: Explorer;
let db: ReturnType<typeof openDatabase>;
let fileHash: string;

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function api<T = any>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, x.url));
  return { status: res.status, body: (await res.json()) as T };
}

/** A raw request with a chosen Host header and method (fetch sets Host itself). */
function raw(path: string, opts: { host?: string; method?: string } = {}): Promise<{ status: number; body: string }> {
  const u = new URL(x.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: { Host: opts.host ?? u.host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

s.before(async () => {
  demo = await demoLog();
  fileHash = sha(demo.path);
  db = openDatabase(demo.path, { readonly: true });
  // A state kept every 7 entries: the demo's 80 entries cross several of them.
  x = await startExplorer(db, { port: 0, every: 7 });
  await x.api.ready;
});

s.after(async () => {
  await x.close();
  db.close();
});

s('meta names the log: head, times, configuration and the names the filters offer', async () => {
  const { status, body } = await api('api/meta');
  assert.is(status, 200);
  assert.is(body.head, demo.head);
  assert.is(body.first_at, '2026-01-01T00:00:00.000Z');
  assert.equal(body.vms, ['vm1', 'vm2']);
  assert.equal(body.containers, ['c1', 'c2', 'c3']);
  assert.ok(body.ops.includes('pasid_alloc') && body.ops.includes('vm_crash'));
  assert.equal(body.reasons, ['quota_exhausted']);
  assert.is(body.config.pasid_quota, 8);
});

s('filtering by vm and outcome finds vm2\'s one refused ALLOC, with its reason', async () => {
  const { body } = await api(`api/entries?vm=vm2&outcome=refused`);
  assert.is(body.total, 1);
  assert.is(body.rows.length, 1);
  const r = body.rows[0];
  assert.is(r.seq, demo.denied);
  assert.is(r.op, 'pasid_alloc');
  assert.is(r.ret, -14);
  assert.is(r.reason, 'quota_exhausted');
  assert.is(r.caused, 0, 'a refused request causes no transition');
  const byReason = await api(`api/entries?reason=quota_exhausted`);
  assert.equal(byReason.body.rows.map((x: { seq: number }) => x.seq), [demo.denied]);
});

s('pages are positions of the filtered log; unfiltered row i is seq i + 1', async () => {
  const { body } = await api('api/entries?offset=10&limit=5');
  assert.is(body.total, demo.head);
  assert.equal(body.rows.map((r: { seq: number }) => r.seq), [11, 12, 13, 14, 15]);
  const vm2 = await api('api/entries?vm=vm2&limit=500');
  const expected = (db.prepare("SELECT seq FROM entries WHERE vm = 'vm2' ORDER BY seq").all() as Array<{ seq: number }>).map((r) => r.seq);
  assert.equal(vm2.body.rows.map((r: { seq: number }) => r.seq), expected);
  assert.is(vm2.body.total, expected.length);
  const second = await api('api/entries?vm=vm2&offset=3&limit=4');
  assert.equal(second.body.rows.map((r: { seq: number }) => r.seq), expected.slice(3, 7));
  const loc = await api(`api/locate?vm=vm2&seq=${expected[5]}`);
  assert.is(loc.body.offset, 5);
});

s('folded, the timeline holds requests only, each with the transitions it caused', async () => {
  const { body } = await api('api/entries?fold=1&limit=500');
  const requests = (db.prepare("SELECT count(*) AS n FROM entries WHERE type IN ('request', 'config')").get() as { n: number }).n;
  assert.is(body.total, requests);
  assert.ok(body.rows.every((r: { type: string }) => r.type !== 'transition'));
  const crash = body.rows.find((r: { seq: number }) => r.seq === demo.crash);
  assert.is(crash.caused, demo.crashEnd - demo.crash, 'the crash folds its whole cascade');
});

s('search over names and the time range filter in SQL', async () => {
  const q = await api('api/entries?q=c3&limit=500');
  assert.ok(q.body.total > 0 && q.body.rows.every((r: { container: string | null; vm: string | null }) => r.container === 'c3'));
  const t = await api('api/entries?since=2026-01-01T00:00:10Z&until=2026-01-01T00:00:14Z&limit=500');
  const inRange = (db.prepare("SELECT seq FROM entries WHERE at >= '2026-01-01T00:00:10.000Z' AND at <= '2026-01-01T00:00:14.000Z' ORDER BY seq").all() as Array<{ seq: number }>).map((r) => r.seq);
  assert.ok(inRange.length > 0 && inRange.length < demo.head);
  assert.equal(t.body.rows.map((r: { seq: number }) => r.seq), inRange);
  const wild = await api('api/entries?q=%25');
  assert.is(wild.body.total, 0, 'a % in the search is a character, not a wildcard');
});

s('the state at every seq is the state the log replays to', async () => {
  const order = [...Array.from({ length: demo.head }, (_, i) => i + 1), 40, 3, demo.head, 1, 22];
  for (const seq of order) {
    const { status, body } = await api(`api/state?seq=${seq}`);
    assert.is(status, 200);
    assert.equal(body.view, viewState(replayTo(db, { seq })), `seq ${seq}`);
    assert.ok(body.timing.evolved < 7, `seq ${seq}: only the entries since a kept state are replayed (${JSON.stringify(body.timing)})`);
  }
  const at = await api('api/state?at=2026-01-01T00:00:09.500Z');
  const last = db.prepare("SELECT max(seq) AS n FROM entries WHERE at <= '2026-01-01T00:00:09.500Z'").get() as { n: number };
  assert.ok(last.n > 1);
  assert.is(at.body.view.seq, last.n);
});

s('scrubbing across vm2\'s crash: its PASIDs are there before, gone after', async () => {
  const before = await api(`api/state?seq=${demo.crash - 1}`);
  const mm2 = before.body.view.vfio_mms.find((m: { mm: string }) => m.mm === '0x2000');
  assert.ok(mm2, 'vm2 holds a vfio_mm before the crash');
  assert.is(mm2.held, 9);
  const after = await api(`api/state?seq=${demo.crashEnd}`);
  assert.not.ok(after.body.view.vfio_mms.find((m: { mm: string }) => m.mm === '0x2000'), 'released by the crash');
  assert.is(after.body.view.vms.find((v: { vm: string }) => v.vm === 'vm2').state, 'crashed');
  const narrowed = await api(`api/state?seq=${demo.crash - 1}&vm=vm2`);
  assert.equal(narrowed.body.view.vms.map((v: { vm: string }) => v.vm), ['vm2']);
});

s('explain and diff answer as the library does (the in-memory states agree with the snapshot cache)', async () => {
  const { body } = await api(`api/explain?seq=${demo.denied}`);
  assert.equal(body, JSON.parse(JSON.stringify(explain(db, demo.denied))));
  assert.is(body.reason, 'quota_exhausted');
  assert.match(body.why, /quota/);
  const t = await api(`api/explain?seq=${demo.crash + 1}`);
  assert.is(t.body.type, 'transition');
  assert.is(t.body.cause.seq, demo.crash);
  const d = await api(`api/diff?from=${demo.crash - 1}&to=${demo.head}`);
  assert.equal(d.body, JSON.parse(JSON.stringify(diff(db, { seq: demo.crash - 1 }, { seq: demo.head }))));
  assert.ok(d.body.vms.ended.some((v: { vm: string; how: string }) => v.vm === 'vm2' && v.how === 'crashed'));
});

s('charts: vm2 held 9 at most then nothing; one denial, quota_exhausted; capacity back after the release', async () => {
  const { body } = await api('api/charts');
  assert.is(body.total, demo.head);
  const vm2 = body.held.find((h: { vm: string }) => h.vm === 'vm2');
  assert.is(Math.max(...vm2.points.map((p: { held_max: number }) => p.held_max)), 9);
  assert.is(vm2.points.at(-1).held, 0);
  const vm1 = body.held.find((h: { vm: string }) => h.vm === 'vm1');
  assert.is(vm1.points.at(-1).held, viewState(replayTo(db, { seq: demo.head }), 'vm1').vfio_mms[0]!.held);
  assert.equal(body.denials.map((d: { reason: string; counts: number[] }) => [d.reason, d.counts.reduce((a, b) => a + b, 0)]), [['quota_exhausted', 1]]);
  assert.is(body.capacity_avail.at(-1), viewState(replayTo(db, { seq: demo.head })).capacity_avail);
  assert.ok(Math.min(...body.capacity_min) < body.capacity_avail.at(-1), 'vm2\'s set took capacity while it lived');
});

s('evidence answers 501 "no checkpoint" without a checkpoint', async () => {
  const { status, body } = await api('api/evidence?from=1&to=10');
  assert.is(status, 501);
  assert.match(body.error, /no checkpoint/);
});

s('evidence with a checkpoint: the proofs bundle of the range, verified offline; an edited byte is refused; bad ranges 400', async () => {
  const signer = generateSigner('example.com/explorer-test', ALG_ED25519);
  const verifier = parseVerifierKey(formatVerifierKey(signer));
  assert.ok(typeof verifier !== 'string', String(verifier));
  const note = checkpointText(db, signer);
  const y = await startExplorer(db, { port: 0, every: 7, checkpoint: () => note });
  try {
    const get = (q: string) => new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      httpGet(`${y.url}api/evidence?${q}`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      }).on('error', reject);
    });
    const r = await get('from=3&to=6');
    assert.is(r.status, 200, r.body);
    assert.match(String(r.headers['content-disposition']), /attachment; filename="evidence-3-6.json"/);
    const proved = verifyBundle(r.body, [verifier as NoteVerifier]);
    assert.ok('checkpoint' in proved, JSON.stringify(proved));
    const b = JSON.parse(r.body) as { entries: Array<{ seq: number; entry: string }> };
    assert.equal(b.entries.map((e) => e.seq), [3, 4, 5, 6]);
    const edited = r.body.replace(/"seq\\":4/, '"seq\\":40');
    assert.is.not(edited, r.body, 'the test edited a byte');
    const refused = verifyBundle(edited, [verifier as NoteVerifier]);
    assert.ok(!('checkpoint' in refused), 'an edited entry is refused');
    assert.is((await get('from=6&to=3')).status, 400);
    assert.is((await get('from=1&to=99999')).status, 400, 'past the checkpoint');
    assert.is((await get('from=x&to=2')).status, 400);
  } finally {
    await y.close();
  }
});

s('bad input is a 400 with a message; unknown paths 404; writes 405; a foreign Host 403', async () => {
  for (const p of ['api/state?seq=0', `api/state?seq=${demo.head + 1}`, 'api/state?seq=abc', 'api/state?at=yesterday', 'api/entries?pasid=x', 'api/entries?outcome=maybe', 'api/explain', 'api/entries?offset=-1', `api/diff?from=10&to=5`]) {
    const r = await api(p);
    assert.is(r.status, 400, p);
    assert.type(r.body.error, 'string');
  }
  assert.is((await api('api/nope')).status, 404);
  assert.is((await api('api/__proto__')).status, 404);
  assert.is((await raw('/../../package.json')).status, 404);
  assert.is((await raw('/%2e%2e/%2e%2e/package.json')).status, 404);
  assert.is((await raw('/api/meta', { method: 'POST' })).status, 405);
  assert.is((await raw('/api/meta', { host: 'attacker.example:80' })).status, 403);
  const page = await raw('/');
  assert.is(page.status, 200);
  assert.match(page.body, /<div id="app">/);
  assert.not.match(page.body, /https?:\/\//, 'no CDN: the page loads nothing from outside');
});

s('the explorer never writes the log: the file is byte-identical and no snapshot was added', async () => {
  await x.close();
  db.close();
  assert.is(sha(demo.path), fileHash);
  db = openDatabase(demo.path, { readonly: true });
  x = await startExplorer(db, { port: 0, every: 7 });
});

s('a log that grows while the explorer runs is followed (the states kept stay valid)', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock() });
  setupVm(l);
  const rdb = openDatabase(path, { readonly: true });
  const y = await startExplorer(rdb, { port: 0, every: 3 });
  try {
    l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 });
    const head = l.head().seq;
    const res = await fetch(new URL(`api/state?seq=${head}`, y.url));
    const body = (await res.json()) as { view: { vfio_mms: Array<{ pasids: number[] }> } };
    assert.equal(body.view.vfio_mms[0]!.pasids, [1]);
    assert.equal(body.view, viewState(replayTo(rdb, { seq: head })));
  } finally {
    await y.close();
    rdb.close();
    l.close();
  }
});

s('mounted under /ui/ (as serve will): the app and API answer there, /ui redirects, other paths are left to the host server', async () => {
  const api = createExploreApi(db, { prefix: '/ui/' });
  await api.ready;
  const server = createServer((req, res) => {
    if (!api.handle(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const meta = await fetch(`${base}/ui/api/meta`);
    assert.is(((await meta.json()) as { head: number }).head, demo.head);
    const page = await fetch(`${base}/ui/`);
    const html = await page.text();
    assert.match(html, /<div id="app">/);
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${base}/ui/${script}`);
    assert.is(js.status, 200, 'the app refers to its files relatively: they load under the prefix');
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const bare = await fetch(`${base}/ui`, { redirect: 'manual' });
    assert.is(bare.status, 308);
    assert.is(bare.headers.get('location'), '/ui/');
    assert.is((await fetch(`${base}/api/meta`)).status, 418, 'outside the prefix: not the explorer\'s');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

s('only loopback: startExplorer refuses another host', async () => {
  let err: Error | null = null;
  try {
    await startExplorer(db, { host: '0.0.0.0' });
  } catch (e) {
    err = e as Error;
  }
  assert.match(err?.message ?? '', /loopback only/);
});

s('the CLI: --help, a bad host or file is exit 2, and it serves until SIGTERM', async () => {
  const help = spawnSync(process.execPath, [CLI, 'explore', '--help'], { encoding: 'utf8' });
  assert.is(help.status, 0);
  assert.match(help.stdout, /--port/);
  const bad = spawnSync(process.execPath, [CLI, 'explore', '--db', demo.path, '--host', '0.0.0.0'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^pasid-ledger: .*loopback only/);
  const missing = spawnSync(process.execPath, [CLI, 'explore', '--db', `${demo.path}.missing`], { encoding: 'utf8' });
  assert.is(missing.status, 2);
  const child = spawn(process.execPath, [CLI, 'explore', '--db', demo.path, '--open-url-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`explore exited ${code}`)));
  });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const meta = (await (await fetch(new URL('api/meta', url))).json()) as { head: number };
  assert.is(meta.head, demo.head);
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.is(code, 0);
});

s.run();
