import { connect as netConnect } from 'node:net';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { explain } from '../src/replay/explain.js';
import { verifyReplay } from '../src/replay/verify_replay.js';
import { auditLog } from '../src/audit/index.js';
import { connect } from '../src/client/connect.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { grant, http, post } from './fixtures/http.js';
import { tmpDir } from './helpers.js';

const dir = tmpDir();
const db = join(dir, 'served.db');
const socket = join(dir, 's.sock');
let srv: RunningServer;
let tok: Record<string, string>;

const head = () => srv.ledger.head().seq;
const ctr = (vm: string, c: string, g: string) => [
  { op: 'vm_start', vm, mm: `0x${vm.length}${c.length}0${g.length}` },
  { op: 'container_open', vm, container: c },
  { op: 'group_attach', container: c, group: g },
  { op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU' },
];

test.before(async () => {
  tok = await grant(db, { a: { role: 'vmm', vm: 'vmA' }, b: { role: 'vmm', vm: 'vmB' }, admin: { role: 'admin' }, auditor: { role: 'auditor' }, gone: { role: 'admin' } }, { pasid_quota: 64 });
  srv = await startServer({ db, socket, maxBody: 4096 });
});
test.after(async () => {
  await srv.stop();
});

test('a vmm runs its own vm: one request, a batch, the outcome as run --json prints it; the entries record the token', async () => {
  const one = await post(socket, tok.a, { op: 'vm_start', vm: 'vmA', mm: '0xa000' });
  assert.is(one.status, 200);
  assert.equal(Object.keys(one.json), ['seq', 'ret', 'pasid', 'reason']);
  const many = await post(socket, tok.a, [...ctr('vmA', 'cA', 'gA').slice(1), { op: 'pasid_alloc', container: 'cA', min: 1, max: 100 }]);
  assert.is(many.status, 200);
  assert.is(many.json.length, 4);
  assert.equal(many.json[3].pasid, 1);
  const b = await post(socket, tok.b, ctr('vmB', 'cB', 'gB'));
  assert.is(b.status, 200);
  const row = JSON.parse(srv.ledger.log.row(many.json[3].seq)!.entry);
  assert.is(row.by, srv.service.gate.authenticate({ headers: { authorization: `Bearer ${tok.a}` } } as never)!.token);
  // A kernel refusal is a 200 with a negative ret.
  const ebusy = await post(socket, tok.a, { op: 'pasid_free', container: 'cA', pasid: 999 });
  assert.is(ebusy.status, 200);
  assert.ok(ebusy.json.ret < 0);
});

test('a vmm token asking for another vm\'s ops gets 403 and the head does not move', async () => {
  const before = head();
  const tries: unknown[] = [
    { op: 'vm_exit', vm: 'vmB' },
    { op: 'vm_crash', vm: 'vmB' },
    { op: 'vm_start', vm: 'vmC', mm: '0xc' },
    { op: 'container_open', vm: 'vmB', container: 'cX' },
    { op: 'pasid_alloc', container: 'cB', min: 1, max: 100 },
    { op: 'pasid_alloc', container: 'cB', min: 1, max: 100, vm: 'vmB' },
    { op: 'container_close', container: 'cB' },
    { op: 'set_pasid_quota', value: 5 },
    { op: 'device_add', group: 'gB', bdf: '0000:3b:00.0' },
    { op: 'vcmd_read', vm: 'vmB' },
    { op: 'pasid_alloc', container: 'nowhere', min: 1, max: 10 },
    // A batch whose first request is its own: still nothing written.
    [{ op: 'pasid_alloc', container: 'cA', min: 1, max: 100 }, { op: 'vm_exit', vm: 'vmB' }],
  ];
  for (const t of tries) {
    const r = await post(socket, tok.a, t);
    assert.is(r.status, 403, JSON.stringify(t));
    assert.match(r.json.error, /nothing was written/);
  }
  assert.is(head(), before);
  // An fd handed over: a request naming vmA as the caller on vmB's container is vmA's to make.
  const handed = await post(socket, tok.a, { op: 'get_info', container: 'cB', vm: 'vmA' });
  assert.is(handed.status, 200);
});

test('missing, invalid and revoked tokens get 401; an auditor only reads', async () => {
  const before = head();
  assert.is((await post(socket, undefined, { op: 'vm_exit', vm: 'vmA' })).status, 401);
  assert.is((await post(socket, 'plt_not-a-token', { op: 'vm_exit', vm: 'vmA' })).status, 401);
  assert.is((await http(socket, 'GET', '/v1/state', { headers: { Authorization: 'Basic abc' } })).status, 401);
  assert.is((await http(socket, 'GET', '/v1/state', { token: tok.gone })).status, 200);
  // Revoked by another process writing the file: the server sees it on the next request.
  const other = await openLedger(db);
  const id = other.grantToken('auditor').token;
  other.revokeToken(srv.service.gate.list().find((t) => t.role === 'admin' && t.token !== srv.service.gate.authenticate({ headers: { authorization: `Bearer ${tok.admin}` } } as never)!.token)!.token);
  other.close();
  assert.is((await http(socket, 'GET', '/v1/state', { token: tok.gone })).status, 401);
  assert.ok(srv.service.gate.list().some((t) => t.token === id));
  const aud = await post(socket, tok.auditor, { op: 'vm_exit', vm: 'vmA' });
  assert.is(aud.status, 403);
  assert.is((await http(socket, 'GET', '/v1/state', { token: tok.auditor })).status, 200);
  assert.is((await http(socket, 'GET', '/v1/state', { token: tok.a })).status, 403);
  const own = await http(socket, 'GET', '/v1/state?vm=vmA', { token: tok.a });
  assert.is(own.status, 200);
  assert.equal(own.json, srv.ledger.view('vmA'));
  assert.is(head(), before + 2);
});

test('oversized, truncated, non-JSON and malformed bodies write nothing', async () => {
  const before = head();
  const big = JSON.stringify({ op: 'vm_start', vm: 'vmA', mm: 'x'.repeat(5000) });
  assert.is((await http(socket, 'POST', '/v1/requests', { token: tok.admin, body: big })).status, 413);
  const truncated = await http(socket, 'POST', '/v1/requests', { token: tok.admin, body: '{"op":"vm_start","vm":"v' });
  assert.is(truncated.status, 400);
  assert.match(truncated.json.error, /not JSON/);
  assert.is((await http(socket, 'POST', '/v1/requests', { token: tok.admin, body: 'vm_start vmA' })).status, 400);
  const bad = await post(socket, tok.admin, [{ op: 'vm_start', vm: 'v9', mm: '0x9' }, { op: 'pasid_alloc', container: 'cA' }]);
  assert.is(bad.status, 400);
  assert.match(bad.json.error, /^request 1: pasid_alloc: missing "min"/);
  assert.is((await post(socket, tok.admin, { op: 'fork_bomb' })).status, 400);
  // A body cut off by the client closing the connection: nothing written, the server goes on.
  await new Promise<void>((resolve) => {
    const s = netConnect(socket, () => {
      s.write(`POST /v1/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.admin}\r\nContent-Length: 100\r\n\r\n{"op":"vm_start",`);
      setTimeout(() => { s.destroy(); resolve(); }, 50);
    });
  });
  assert.is(head(), before);
  assert.is((await http(socket, 'GET', '/healthz')).json.seq, before);
});

test('an admin sets the quota as itself; explain, audit and replay --verify see the token', async () => {
  const r = await post(socket, tok.admin, { op: 'set_pasid_quota', value: 32, actor: 'someone-else' });
  assert.is(r.status, 200);
  const e = JSON.parse(srv.ledger.log.row(r.json.seq)!.entry);
  assert.is(e.req.actor, e.by);
  assert.match(e.by, /^tok-\d+$/);
  const x = explain(srv.ledger.db, r.json.seq);
  assert.is(x.type, 'request');
  assert.match(x.summary, new RegExp(`via token ${e.by}`));
  const v = verifyReplay(srv.ledger.db);
  assert.ok(v.ok, JSON.stringify(v.mismatch));
  const audit = auditLog(srv.ledger.log);
  assert.ok(audit.ok);
  const t = audit.tokens.find((x) => x.token === e.by)!;
  assert.is(t.role, 'admin');
  assert.ok(t.requests >= 1);
  const explained = explain(srv.ledger.db, t.added);
  assert.is(explained.type, 'token');
  // No secret anywhere in the log.
  const all = [...srv.ledger.log.after(0)].map((row) => row.entry).join('\n');
  for (const s of Object.values(tok)) assert.not.ok(all.includes(s.slice(4)));
});

test('entries stream as NDJSON and follow=1 sends entries as they commit; the library client does the same', async () => {
  const all = await http(socket, 'GET', '/v1/entries?from=2', { token: tok.auditor });
  const lines = all.text.trim().split('\n');
  assert.is(lines.length, head() - 1);
  assert.is(lines[0], srv.ledger.log.row(2)!.entry);
  const c = connect({ socket, token: tok.auditor });
  const a = connect({ socket, token: tok.a });
  const from = head() + 1;
  const seen: number[] = [];
  const it = c.entries({ from, follow: true })[Symbol.asyncIterator]();
  const first = it.next();
  const out = await a.request({ op: 'pasid_alloc', container: 'cA', min: 1, max: 100 });
  const got = await first;
  seen.push(got.value!.seq as number);
  assert.equal(seen, [out.seq]);
  const st = await a.state('vmA');
  assert.equal(st, srv.ledger.view('vmA'));
  const outs = await a.batch([{ op: 'pasid_alloc', container: 'cA', min: 1, max: 100 }, { op: 'pasid_alloc', container: 'cA', min: 1, max: 100 }]);
  assert.is(outs.length, 2);
  await a.request({ op: 'vm_exit', vm: 'vmB' }).then(() => assert.unreachable(), (e: { status: number }) => assert.is(e.status, 403));
  c.close();
  a.close();
});

test('pasid owners; tokens granted and revoked over HTTP by an admin only', async () => {
  const held = srv.ledger.view('vmA').vfio_mms[0]!.pasids[0]!;
  const owner = await http(socket, 'GET', `/v1/pasids/${held}`, { token: tok.auditor });
  assert.equal(owner.json, { pasid: held, owner: srv.ledger.pasidOwner(held) });
  assert.is(owner.json.owner.mm, '0xa000');
  assert.equal((await http(socket, 'GET', '/v1/pasids/99999', { token: tok.auditor })).json, { pasid: 99999, owner: null });
  assert.is((await http(socket, 'POST', '/v1/tokens', { token: tok.a, body: '{"role":"admin"}' })).status, 403);
  assert.is((await http(socket, 'POST', '/v1/tokens', { token: tok.admin, body: '{"role":"vmm"}' })).status, 400);
  const g = await http(socket, 'POST', '/v1/tokens', { token: tok.admin, body: '{"role":"vmm","vm":"vmZ"}' });
  assert.is(g.status, 200);
  assert.is((await post(socket, g.json.secret, { op: 'vm_start', vm: 'vmZ', mm: '0xz' })).status, 200);
  assert.is((await http(socket, 'DELETE', `/v1/tokens/${g.json.token}`, { token: tok.a })).status, 403);
  assert.is((await http(socket, 'DELETE', `/v1/tokens/${g.json.token}`, { token: tok.admin })).status, 200);
  assert.is((await http(socket, 'DELETE', `/v1/tokens/${g.json.token}`, { token: tok.admin })).status, 404);
  assert.is((await post(socket, g.json.secret, { op: 'vm_exit', vm: 'vmZ' })).status, 401);
  const list = await http(socket, 'GET', '/v1/tokens', { token: tok.auditor });
  assert.ok(list.json.some((t: { token: string; revoked: number | null }) => t.token === g.json.token && t.revoked !== null));
  assert.not.ok(list.text.includes('plt_'));
});

test('metrics: requests by op/ret/reason, capacity, vfio_mm held and quota, commit histograms, head', async () => {
  const m = await http(socket, 'GET', '/metrics', { token: tok.auditor });
  assert.is(m.status, 200);
  for (const name of ['pasid_ledger_requests_total{op="pasid_alloc",ret="0",reason=""}', 'pasid_ledger_capacity_avail', 'pasid_ledger_vfio_mm_held{', 'pasid_ledger_vfio_mm_quota{', 'pasid_ledger_commit_batch_size_bucket', 'pasid_ledger_commit_seconds_bucket', `pasid_ledger_head_seq ${head()}`]) {
    assert.ok(m.text.includes(name), name);
  }
  assert.is((await http(socket, 'GET', '/metrics', { token: tok.a })).status, 403);
});

test('a client dribbling its headers does not stall the others', async () => {
  const slow = netConnect(socket);
  await new Promise((r) => slow.once('connect', r));
  slow.write('POST /v1/requests HTTP/1.1\r\nHo');
  const drip = setInterval(() => slow.write('x'), 20);
  const t0 = Date.now();
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const rs = await Promise.all(Array.from({ length: 40 }, () => http(socket, 'GET', '/healthz', { agent })));
  const took = Date.now() - t0;
  clearInterval(drip);
  slow.destroy();
  agent.destroy();
  assert.ok(rs.every((r) => r.status === 200));
  assert.ok(took < 2000, `${took} ms`);
});

test('1,000 connections opened and dropped: the server keeps serving and holds none of them', async () => {
  for (let round = 0; round < 10; round++) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => new Promise<void>((resolve) => {
      const s = netConnect(socket);
      s.on('error', () => resolve());
      s.on('connect', () => {
        if (i % 3 === 1) s.write('GET /healthz HTTP/1.1\r\n');
        if (i % 3 === 2) s.write(`POST /v1/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.a}\r\nContent-Length: 50\r\n\r\n{"op"`);
        s.destroy();
        resolve();
      });
    })));
  }
  const r = await post(socket, tok.a, { op: 'pasid_alloc', container: 'cA', min: 1, max: 100 });
  assert.is(r.status, 200);
  await new Promise((r) => setTimeout(r, 100));
  const n = await srv.connections();
  assert.ok(n <= 1, `${n} connections still open`);
});

test('a socket a live server holds is refused; a stale one is replaced; another file is left alone', async () => {
  await startServer({ db: join(dir, 'other.db'), socket }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /already listening/));
  const notSock = join(dir, 'plain');
  writeFileSync(notSock, 'keep me');
  await startServer({ db: join(dir, 'other.db'), socket: notSock }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not a socket/));
});

test('TCP: loopback is allowed, another address only with TLS; SIGTERM-style stop answers a request still arriving with 503', async () => {
  const d = tmpDir();
  const odb = join(d, 'tcp.db');
  const t = await grant(odb, { admin: { role: 'admin' } });
  await startServer({ db: odb, socket: join(d, 'x.sock'), listen: '0.0.0.0:0' }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /needs --tls-cert and --tls-key/));
  const s = await startServer({ db: odb, socket: join(d, 't.sock'), listen: '127.0.0.1:0' });
  assert.ok(s.port! > 0);
  const viaTcp = await new Promise<number>((resolve, reject) => {
    const c = netConnect(s.port!, '127.0.0.1', () => c.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let got = '';
    c.on('data', (b) => { got += b.toString(); });
    c.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1])));
    c.on('error', reject);
  });
  assert.is(viaTcp, 200);
  // A request whose body is still arriving when the server stops: 503, nothing written.
  const before = s.ledger.head().seq;
  const body = JSON.stringify({ op: 'vm_start', vm: 'late', mm: '0x1' });
  const raw = netConnect(join(d, 't.sock'));
  await new Promise((r) => raw.once('connect', r));
  raw.write(`POST /v1/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.admin}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
  await new Promise((r) => setTimeout(r, 50));
  let answer = '';
  raw.on('data', (b) => { answer += b.toString(); });
  const stopped = s.stop();
  await new Promise((r) => setTimeout(r, 20));
  raw.write(body.slice(5));
  await stopped;
  assert.match(answer, /^HTTP\/1\.1 503/);
  raw.destroy();
  const l = await openLedger(odb, { readonly: true, mustExist: true });
  assert.is(l.head().seq, before);
  l.close();
});

test.run();
