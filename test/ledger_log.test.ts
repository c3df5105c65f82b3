import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { openLedger } from '../src/ledger.js';
import { freshLedger, setupVm, steppingClock, tmpDb } from './helpers.js';
import { fileURLToPath } from 'node:url';

const FULL = { min: 1, max: 0xfffff };

/** RFC 8785 for the entries' value space, written here independently of the code under test. */
function jcs(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const keys = Object.keys(v as object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

const s = suite('the log format (DESIGN "The log")');

s('anyone with SHA-256 can verify the chain from the raw rows', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock() });
  setupVm(l);
  for (let i = 0; i < 5; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  l.request({ op: 'vm_crash', vm: 'vm1' });
  l.close();
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT seq, entry, leaf, chain FROM entries ORDER BY seq').all() as Array<{ seq: number; entry: string; leaf: string; chain: string }>;
  let prev = Buffer.alloc(32);
  rows.forEach((r, i) => {
    assert.is(r.seq, i + 1, 'no gap');
    const obj = JSON.parse(r.entry);
    assert.is(obj.seq, r.seq);
    assert.ok(typeof obj.at === 'string' && typeof obj.type === 'string');
    assert.is(jcs(obj), r.entry, `entry ${r.seq} is canonical JSON`);
    const leaf = createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(r.entry, 'utf8')])).digest();
    assert.is(r.leaf, leaf.toString('hex'), `leaf ${r.seq}`);
    const chain = createHash('sha256').update(Buffer.concat([prev, leaf])).digest();
    assert.is(r.chain, chain.toString('hex'), `chain ${r.seq}`);
    prev = chain;
  });
  const first = JSON.parse(rows[0]!.entry);
  assert.equal([first.type, first.profile, first.pasid_bits, first.capacity, first.pasid_quota], ['config', 'v1', 20, 1 << 20, 1000]);
  assert.is(first.at, '2026-01-01T00:00:00.000Z', 'the injected clock stamps entries');
  db.close();
});

s('every request is an entry with its outcome; transitions name machine, from, to and cause', async () => {
  const l = await freshLedger();
  setupVm(l);
  const o = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL });
  const rows = l.db.prepare('SELECT entry, type, op, machine, vm, container, pasid, cause FROM entries WHERE seq >= ? ORDER BY seq').all(o.seq) as Array<Record<string, unknown>>;
  const req = JSON.parse(rows[0]!.entry as string);
  assert.equal([req.type, req.op, req.vm, req.ret, req.pasid, req.req.container, req.req.min], ['request', 'pasid_alloc', 'vm1', 0, 1, 'c1', 1]);
  assert.equal([rows[0]!.type, rows[0]!.op, rows[0]!.vm, rows[0]!.container, rows[0]!.pasid], ['request', 'pasid_alloc', 'vm1', 'c1', 1]);
  const t = JSON.parse(rows[1]!.entry as string);
  assert.equal([t.type, t.machine, t.event, t.from, t.to, t.cause, t.pasid], ['transition', 'pasid', 'ALLOC', 'free', 'allocated', o.seq, 1]);
  assert.equal([rows[1]!.machine, rows[1]!.cause, rows[1]!.pasid], ['pasid', o.seq, 1]);
  l.close();
});

s('UPDATE and DELETE are refused by the table itself; so is an insert that leaves a gap', async () => {
  const path = tmpDb();
  const l = await openLedger(path);
  setupVm(l);
  l.close();
  const db = new Database(path);
  const count = () => (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  const n = count();
  const text = (db.prepare('SELECT entry FROM entries WHERE seq = 2').get() as { entry: string }).entry;
  assert.throws(() => db.prepare("UPDATE entries SET entry = '{}' WHERE seq = 2").run(), /append-only/);
  assert.throws(() => db.prepare('DELETE FROM entries WHERE seq = 5').run(), /append-only/);
  assert.throws(() => db.prepare("INSERT INTO entries (seq, entry, leaf, chain, at, type) VALUES (99, '{}', 'x', 'y', 'z', 'request')").run(), /append-only/);
  assert.is(count(), n);
  assert.is((db.prepare('SELECT entry FROM entries WHERE seq = 2').get() as { entry: string }).entry, text);
  db.close();
});

s('reopening the file reproduces the same state', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { pasid_quota: 5 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  for (const c of ['c1', 'c2', 'c1', 'c1']) l.request({ op: 'pasid_alloc', container: c, ...FULL });
  l.request({ op: 'pasid_free', container: 'c1', pasid: 1 });
  l.request({ op: 'set_pasid_quota', value: 9, actor: 'admin' });
  l.request({ op: 'vm_exit', vm: 'vm2' });
  const before = l.view();
  l.close();
  const again = await openLedger(path);
  assert.equal(again.view(), before);
  assert.is(again.config.pasid_quota, 5, 'the log keeps the configuration it was written with');
  assert.is(again.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).pasid, 1);
  again.close();
});

s('a differing configuration on an existing log is refused with a clear message', async () => {
  const path = tmpDb();
  (await openLedger(path, { pasid_quota: 5 })).close();
  try {
    await openLedger(path, { pasid_quota: 6 });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.match((e as Error).message, /pasid_quota is 5 in the log, not 6/);
  }
  (await openLedger(path, { pasid_quota: 5 })).close();
});

s('a request id makes a retry return the recorded outcome and write nothing', async () => {
  const l = await freshLedger();
  setupVm(l);
  const a = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL, id: 'req-1' });
  const head = l.head().seq;
  const b = l.request({ op: 'pasid_alloc', container: 'c1', ...FULL, id: 'req-1' });
  assert.equal([b.seq, b.ret, b.pasid, b.replayed], [a.seq, 0, a.pasid, true]);
  assert.is(l.head().seq, head);
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL, id: 'req-2' }).pasid, 2);
  assert.throws(() => l.request({ op: 'pasid_free', container: 'c1', pasid: 1, id: 'req-1' }), /request id "req-1" was used by a different request \(seq \d+\)/);
  assert.is(l.head().seq, head + 2, 'a refused retry writes nothing');
  const rows = l.db.prepare("SELECT request_id FROM entries WHERE request_id IS NOT NULL").all();
  assert.is(rows.length, 2);
  l.close();
});

s('batch: many requests in one transaction; a malformed one refuses the batch before anything is written', async () => {
  const l = await freshLedger();
  setupVm(l);
  const head = l.head().seq;
  assert.throws(() => l.batchUntrusted([{ op: 'pasid_alloc', container: 'c1', ...FULL }, { op: 'pasid_alloc', container: 'c1' }]), /request 1: pasid_alloc: missing "min"/);
  assert.is(l.head().seq, head);
  const outs = l.batch(Array.from({ length: 50 }, () => ({ op: 'pasid_alloc', container: 'c1', ...FULL })));
  assert.equal(outs.map((o) => o.pasid), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.is(l.head().seq, head + 100);
  l.close();
});

s('an IO failure mid-batch leaves nothing of the batch and the ledger consistent', async () => {
  const l = await freshLedger();
  setupVm(l);
  const head = l.head().seq;
  const before = l.view();
  // Fill the file's page budget so that the batch cannot be written.
  const pages = (l.db.pragma('page_count', { simple: true }) as number);
  l.db.pragma(`max_page_count = ${pages}`);
  assert.throws(() => l.batch(Array.from({ length: 2000 }, () => ({ op: 'pasid_alloc', container: 'c1', ...FULL }))), /full/);
  assert.is(l.head().seq, head);
  assert.equal(l.view(), before, 'the in-memory state was rebuilt from the log');
  l.db.pragma('max_page_count = 1073741823');
  assert.is(l.request({ op: 'pasid_alloc', container: 'c1', ...FULL }).pasid, 1);
  l.close();
});

s('two processes writing one file see each other, leave no gap and never hand out one PASID twice', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { pasid_quota: 5000 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  l.close();
  const worker = fileURLToPath(new URL('./fixtures/alloc_worker.js', import.meta.url));
  const run = (container: string) => new Promise<number[]>((resolve, reject) => {
    const p = spawn(process.execPath, [worker, path, container, '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exit ${code}`))));
  });
  const [a, b] = await Promise.all([run('c1'), run('c2')]);
  assert.is(a.length + b.length, 600);
  assert.is(new Set([...a, ...b]).size, 600, 'no PASID handed out twice');
  const again = await openLedger(path);
  const seqs = (again.db.prepare('SELECT seq FROM entries ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq);
  assert.equal(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
  const v = again.view();
  assert.equal(v.vfio_mms.map((m) => m.held), [300, 300]);
  assert.equal([...v.vfio_mms[0]!.pasids, ...v.vfio_mms[1]!.pasids].sort((x, y) => x - y), Array.from({ length: 600 }, (_, i) => i + 1), 'lowest-free across both writers');
  again.close();
});

s.run();
