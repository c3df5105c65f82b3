import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditReport } from '../src/audit/report.js';
import type { FleetAuditReport } from '../src/fleet/audit.js';
import { Crafter, realLog } from './audit_craft.js';
import { parseCsv, setupVm, tmpDb } from './helpers.js';
import { cliAsync, pgQuery, trafficLog } from './support/fleet.js';
import { startPgCluster, type PgCluster } from './support/pg_cluster.js';

const s = suite('fleet_audit');
let pgc: PgCluster;
let url = '';
const logs: Record<string, string> = {};

const run = (args: string[]) => cliAsync(args, { ...process.env, PASID_LEDGER_PG: url });
const localAudit = async (path: string): Promise<AuditReport> => JSON.parse((await cliAsync(['audit', '--db', path, '--format', 'json'])).stdout) as AuditReport;
const localQuery = <T>(path: string, sql: string, ...args: unknown[]): T[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
};

s.before(async () => {
  const c = await startPgCluster();
  if (typeof c === 'string') throw new Error(`the fleet tests need PostgreSQL: ${c}`);
  pgc = c;
  url = c.url;
  logs.clean = await trafficLog(300, { start: '2026-03-01T23:58:00.000Z' });
  logs.demo = tmpDb('demo.db');
  assert.is((await cliAsync(['demo', '--db', logs.demo])).status, 0);
  // A forger's log with a correct chain whose vm1 holds 3 PASIDs under a quota of 2 (invariant 2).
  logs.broken = await realLog({ pasid_quota: 2 }, (l) => {
    setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
    for (let i = 0; i < 2; i++) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  });
  const cr = await Crafter.open(logs.broken);
  cr.request('pasid_alloc', { container: 'c1', min: 1, max: 0xfffff }, { ret: 0, vm: 'vm1', pasid: 3 });
  cr.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 3, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  cr.commit();
  logs.victim = logs.clean;
  for (const [host, path] of Object.entries(logs)) {
    const r = await cliAsync(['ship', '--db', path, '--to', url, '--host', host]);
    assert.is(r.status, 0, r.stderr);
  }
});
s.after(async () => {
  await pgc?.stop();
});

s('fleet audit: each host report is the local audit of its log; a host with a violation fails the fleet', async () => {
  const r = await run(['fleet', 'audit', '--format', 'json']);
  assert.is(r.status, 1, r.stderr);
  const fleet = JSON.parse(r.stdout) as FleetAuditReport;
  assert.is(fleet.hosts, 4);
  for (const a of fleet.reports) assert.equal(a.report, await localAudit(logs[a.host]!), a.host);
  const broken = await localAudit(logs.broken!);
  const bad = broken.invariants.filter((i) => !i.holds);
  assert.ok(bad.some((i) => i.id === '2'), 'the crafted log breaks invariant 2 (and what follows from it)');
  assert.equal(fleet.violations.map((v) => [v.host, v.id, v.seq]), bad.map((i) => ['broken', i.id, i.first!.seq]));
  assert.is(fleet.entries, fleet.reports.reduce((n, a) => n + a.report!.entries, 0));
  // Quota denials per host and day, counted from the local files.
  for (const host of ['clean', 'demo']) {
    const want = localQuery<{ day: string; n: number }>(logs[host]!,
      "SELECT substr(at, 1, 10) AS day, count(*) AS n FROM entries WHERE type = 'request' AND json_extract(entry, '$.reason') = 'quota_exhausted' AND json_extract(entry, '$.ret') < 0 GROUP BY day ORDER BY day");
    assert.ok(want.length > 0, `${host} has quota denials`);
    assert.equal(fleet.quota_denials.filter((d) => d.host === host).map((d) => [d.day, d.count]), want.map((w) => [w.day, w.n]), host);
  }
  assert.equal(fleet.quota_denials.filter((d) => d.host === 'clean').map((d) => d.day), ['2026-03-01', '2026-03-02'], 'denials on both sides of midnight');
  const one = await run(['fleet', 'audit', '--host', 'clean']);
  assert.is(one.status, 0, one.stderr);
  assert.match(one.stdout, /every invariant holds on every host \(1 hosts/);
  assert.match(one.stdout, /Host clean:/);
  const text = await run(['fleet', 'audit']);
  assert.match(text.stdout, /1 of 4 hosts with violations/);
  assert.match(text.stdout, /broken .*2 within_quota/);
});

s('fleet audit csv and html carry the same summary', async () => {
  const csv = await run(['fleet', 'audit', '--format', 'csv']);
  assert.is(csv.status, 1);
  const rows = parseCsv(csv.stdout);
  assert.equal(rows.filter((r) => r[0] === 'host').map((r) => [r[1], r[3]]), [['broken', 'false'], ['clean', 'true'], ['demo', 'true'], ['victim', 'true']]);
  const json = JSON.parse((await run(['fleet', 'audit', '--format', 'json'])).stdout) as FleetAuditReport;
  assert.ok(json.violations.some((v) => v.id === '2'));
  assert.equal(rows.filter((r) => r[0] === 'violation').map((r) => [r[1], r[2]]), json.violations.map((v) => [v.host, v.id]));
  const html = await run(['fleet', 'audit', '--format', 'html']);
  assert.match(html.stdout, /<p class="bad" id="verdict">1 of 4 hosts with violations/);
  assert.not.match(html.stdout, /<script/);
});

s('fleet hosts: entries and head per host as the local logs have them, no lag', async () => {
  const r = await run(['fleet', 'hosts', '--json']);
  assert.is(r.status, 0, r.stderr);
  const hosts = JSON.parse(r.stdout) as Array<{ host: string; entries: number; head_seq: number; head_chain: string; lag: number; last_shipped: string }>;
  assert.equal(hosts.map((h) => h.host), ['broken', 'clean', 'demo', 'victim']);
  for (const h of hosts) {
    const head = localQuery<{ seq: number; chain: string }>(logs[h.host]!, 'SELECT seq, chain FROM entries ORDER BY seq DESC LIMIT 1')[0]!;
    assert.equal([h.entries, h.head_seq, h.head_chain, h.lag], [head.seq, head.seq, head.chain, 0], h.host);
    assert.ok(!Number.isNaN(Date.parse(h.last_shipped)));
  }
});

s('fleet find: by vm and mm as the local index columns; --pasid --at names the holder that replay --at shows', async () => {
  const byVm = JSON.parse((await run(['fleet', 'find', '--vm', 'vm2', '--host', 'demo', '--json'])).stdout) as { entries: Array<{ host: string; seq: number }> };
  assert.equal(byVm.entries.map((e) => e.seq), localQuery<{ seq: number }>(logs.demo!, "SELECT seq FROM entries WHERE vm = 'vm2' ORDER BY seq").map((x) => x.seq));
  const byMm = JSON.parse((await run(['fleet', 'find', '--mm', '0x1000', '--json'])).stdout) as { entries: Array<{ host: string; seq: number }> };
  const want = Object.keys(logs).sort().flatMap((h) => localQuery<{ seq: number }>(logs[h]!, "SELECT seq FROM entries WHERE mm = '0x1000' ORDER BY seq").map((x) => `${h}:${x.seq}`));
  assert.equal(byMm.entries.map((e) => `${e.host}:${e.seq}`), want);
  // The holder of PASID 1 at the time of the demo's entry 40, against replay --at.
  const at = localQuery<{ at: string }>(logs.demo!, 'SELECT at FROM entries WHERE seq = 40')[0]!.at;
  const state = JSON.parse((await cliAsync(['replay', '--db', logs.demo!, '--at', at, '--json'])).stdout) as { vfio_mms: Array<{ vfio_mm: number; mm: string; pasids: number[] }> };
  const holder = state.vfio_mms.find((m) => m.pasids.includes(1));
  assert.ok(holder, 'PASID 1 is held at that moment');
  const found = JSON.parse((await run(['fleet', 'find', '--pasid', '1', '--at', at, '--host', 'demo', '--json'])).stdout) as Array<{ held: boolean; vfio_mm: number; mm: string; vm: string }>;
  assert.equal(found.map((f) => [f.held, f.vfio_mm, f.mm]), [[true, holder!.vfio_mm, holder!.mm]]);
  const text = await run(['fleet', 'find', '--pasid', '1', '--at', at, '--host', 'demo']);
  assert.match(text.stdout, new RegExp(`host demo: PASID 1 held by vfio_mm #${holder!.vfio_mm} \\(mm ${holder!.mm}, vm vm\\d`));
  const bad = await run(['fleet', 'find', '--vm', 'x', '--pasid', '2']);
  assert.is(bad.status, 2);
});

s('fleet verify: ok, then a row edited in PostgreSQL (triggers disabled by its owner) is named by host and seq', async () => {
  const ok = await run(['fleet', 'verify']);
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /ok: 4 host\(s\) check out/);
  await pgQuery(url, 'ALTER TABLE entries DISABLE TRIGGER entries_no_change');
  await pgQuery(url, "UPDATE entries SET entry = replace(entry, '\"ret\":0', '\"ret\":-1') WHERE host = 'victim' AND seq = 17");
  await pgQuery(url, 'ALTER TABLE entries ENABLE TRIGGER entries_no_change');
  const bad = await run(['fleet', 'verify']);
  assert.is(bad.status, 1);
  assert.match(bad.stdout, /host victim: seq 17 is bad: the entry text does not hash to the row's leaf/);
  assert.match(bad.stdout, /host clean: ok/);
  const one = await run(['fleet', 'verify', '--host', 'clean', '--json']);
  assert.is(one.status, 0);
  assert.is((JSON.parse(one.stdout) as { hosts: unknown[] }).hosts.length, 1);
});

s('read commands refuse a database without the fleet store, and no URL, with exit 2', async () => {
  const r = await cliAsync(['fleet', 'hosts', '--pg', url.replace(/\/[^/]*$/, '/template1')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /holds no fleet store/);
  const none = await cliAsync(['fleet', 'audit'], { ...process.env, PASID_LEDGER_PG: '' });
  assert.is(none.status, 2);
});

s.run();
