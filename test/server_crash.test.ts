import { spawnSync } from 'node:child_process';
import { serveProcess } from './support/serve_process.js';
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { grant, post } from './fixtures/http.js';
import { CLI, mulberry32, tmpDir } from './helpers.js';

const CLIENTS = 16;
const ROUNDS = 10;

const serve = serveProcess;

interface Ack { seq: number; ret: number; op: string; client: number }

/** One client: its vm's setup (idempotent by request id), then alloc/free until the server dies. */
async function client(i: number, socket: string, token: string, acks: Ack[], round: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const vm = `vm${i}`;
  const c = `c${i}`;
  const setup = [
    { op: 'vm_start', vm, mm: `0x${(i + 1) * 0x1000}`, id: `${vm}-start` },
    { op: 'container_open', vm, container: c, id: `${vm}-open` },
    { op: 'group_attach', container: c, group: `g${i}`, id: `${vm}-attach` },
    { op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU', id: `${vm}-iommu` },
  ];
  try {
    const s = await post(socket, token, setup, agent);
    if (s.status !== 200) return;
    for (let k = 0; ; k++) {
      const a = await post(socket, token, { op: 'pasid_alloc', container: c, min: 1, max: 0xfffff }, agent);
      if (a.status !== 200) return;
      acks.push({ seq: a.json.seq, ret: a.json.ret, op: 'pasid_alloc', client: i });
      if (a.json.ret !== 0) continue;
      // Every other round a batch, so acknowledged arrays are checked too.
      const free = { op: 'pasid_free', container: c, pasid: a.json.pasid };
      const f = await post(socket, token, (k + round) % 2 ? [free] : free, agent);
      if (f.status !== 200) return;
      const out = Array.isArray(f.json) ? f.json[0] : f.json;
      acks.push({ seq: out.seq, ret: out.ret, op: 'pasid_free', client: i });
    }
  } catch {
    // The server was killed: what was not answered was not acknowledged.
  } finally {
    agent.destroy();
  }
}

test('SIGKILL at random moments under 16 clients, 10 times: every acknowledged outcome is in the log; verify and audit pass; the server continues', async () => {
  const dir = tmpDir();
  const db = join(dir, 'crash.db');
  const socket = join(dir, 's.sock');
  const tokens = await grant(db, Object.fromEntries(Array.from({ length: CLIENTS }, (_, i) => [`vm${i}`, { role: 'vmm' as const, vm: `vm${i}` }])));
  const l0 = await openLedger(db);
  const ids = new Map(l0.log.db.prepare("SELECT entry FROM entries WHERE type = 'token'").all().map((r) => JSON.parse((r as { entry: string }).entry)).map((e) => [e.vm as string, e.token as string]));
  l0.close();
  const rand = mulberry32(0x5e77e);
  const acks: Ack[] = [];
  let lastHead = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const child = await serve(db, socket);
    const before = acks.length;
    const done = Array.from({ length: CLIENTS }, (_, i) => client(i, socket, tokens[`vm${i}`]!, acks, round));
    // The kill comes at a random moment after the restarted server acknowledged its first
    // new outcome (on a loaded machine a fixed delay could fall before it, and the round
    // would prove nothing), bounded so that a server that never answers fails the round.
    for (const t0 = Date.now(); acks.length === before && Date.now() - t0 < 30_000;) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 400)));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await Promise.all(done);
    const l = await openLedger(db, { readonly: true, mustExist: true });
    const head = l.head().seq;
    l.close();
    assert.ok(head > lastHead, `round ${round}: the restarted server wrote nothing (head ${head})`);
    lastHead = head;
  }
  assert.ok(acks.length > 100, `only ${acks.length} acknowledged outcomes`);
  const l = await openLedger(db, { readonly: true, mustExist: true });
  for (const a of acks) {
    const row = l.log.row(a.seq);
    assert.ok(row, `acknowledged seq ${a.seq} is not in the log`);
    const e = JSON.parse(row!.entry);
    assert.equal({ type: e.type, op: e.op, ret: e.ret, by: e.by }, { type: 'request', op: a.op, ret: a.ret, by: ids.get(`vm${a.client}`) }, `seq ${a.seq}`);
  }
  l.close();
  for (const cmd of [['verify', '--db', db], ['audit', '--db', db], ['replay', '--db', db, '--verify']]) {
    const r = spawnSync(process.execPath, [CLI, ...cmd], { encoding: 'utf8' });
    assert.is(r.status, 0, `${cmd[0]}: ${r.stdout.slice(-400)}${r.stderr}`);
  }
  // Once more, and stop it politely: SIGTERM commits, exits 0 and removes its socket.
  const child = await serve(db, socket);
  const r = await post(socket, tokens.vm0, { op: 'pasid_alloc', container: 'c0', min: 1, max: 0xfffff });
  assert.is(r.status, 200);
  assert.is(r.json.seq, lastHead + 1);
  const code = await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  assert.is(code, 0);
  assert.not.ok(existsSync(socket));
});

test.run();
