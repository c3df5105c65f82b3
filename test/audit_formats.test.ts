import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CSV_SECTIONS } from '../src/audit/format_csv.js';
import type { AuditReport } from '../src/audit/report.js';
import { cli, Crafter, realLog } from './audit_craft.js';
import { setupVm, tmpDir, parseCsv } from './helpers.js';

const s = suite('audit: formats and command line');
const ALL = { min: 1, max: 0xfffff };
let path = '';
let broken = '';
let badSeq = 0;


s.before(async () => {
  path = await realLog({ pasid_quota: 2 }, (l) => {
    setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
    setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
    for (let i = 0; i < 3; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
    l.request({ op: 'pasid_alloc', container: 'c2', min: 0, max: 0xfffff });
    l.request({ op: 'vm_exit', vm: 'vm1' });
  });
  broken = await realLog({}, (l) => setupVm(l));
  const c = await Crafter.open(broken);
  c.request('pasid_alloc', { container: 'c1', ...ALL }, { ret: 0, vm: 'vm1', pasid: 3 });
  badSeq = c.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 3, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c.commit();
});

s('json: the full report object', () => {
  const r = cli(['audit', '--db', path, '--format', 'json']);
  assert.is(r.status, 0);
  const rep = JSON.parse(r.stdout) as AuditReport;
  assert.is(rep.format, 'pasid-ledger-audit');
  assert.is(rep.config.pasid_quota, 2);
  assert.is(rep.entries, rep.head.seq);
  assert.is(rep.entries, 1 + rep.requests + rep.transitions);
  assert.match(rep.head.chain, /^[0-9a-f]{64}$/);
  assert.is(rep.invariants.length, 15);
  assert.is(rep.vms.length, 2);
  assert.is(rep.vfio_mms[0]!.reclaimed, 2, "vm1's exit reclaimed its two PASIDs");
  assert.is(rep.quirks.counts.pasid_zero, 1);
});

s('csv: every row starts with its section; each section has its documented header', () => {
  const r = cli(['audit', '--db', path, '--format', 'csv']);
  assert.is(r.status, 0);
  const rows = parseCsv(r.stdout).filter((x) => !(x.length === 1 && x[0] === ''));
  const headers = rows.filter((x) => x[0] === 'section');
  assert.equal(headers.map((h) => h.slice(1)), Object.values(CSV_SECTIONS).map((c) => [...c]));
  const by = (name: string) => rows.filter((x) => x[0] === name);
  for (const [name, cols] of Object.entries(CSV_SECTIONS)) for (const row of by(name)) assert.is(row.length, cols.length + 1, `${name} row width`);
  assert.is(by('invariant').length, 15);
  assert.ok(by('invariant').every((x) => x[3] === 'true'));
  assert.equal(by('summary').find((x) => x[1] === 'ok'), ['summary', 'ok', 'true']);
  const mm = by('vfio_mm');
  assert.is(mm.length, 2);
  const col = (name: string) => (CSV_SECTIONS.vfio_mm as readonly string[]).indexOf(name) + 1;
  assert.is(mm[0]![col('reclaimed')], '2');
  assert.is(mm[0]![col('peak_held')], '2');
  assert.is(mm[0]![col('denied_by_reason')], 'quota_exhausted 1');
  assert.equal(by('quirk').map((x) => x[1]), ['pasid_zero']);
  assert.ok(by('held').length > 0);
  assert.ok(by('quirk')[0]![9]!.includes('PASID 0'), 'detail column');
});

s('text: readable tables; a broken invariant is named with its seq and the exit status is 1', () => {
  const ok = cli(['audit', '--db', path]);
  assert.is(ok.status, 0);
  assert.match(ok.stdout, /Invariants: all hold at every entry/);
  assert.match(ok.stdout, /Quota report per vfio_mm \(2\)/);
  assert.match(ok.stdout, /┌/);
  const bad = cli(['audit', '--db', broken]);
  assert.is(bad.status, 1);
  assert.match(bad.stdout, /Invariants: 2 BROKEN \(7, S6\)/);
  assert.match(bad.stdout, new RegExp(`lowest_free\\s+│ BROKEN\\s+│ ${badSeq}`));
  assert.match(bad.stdout, /RESULT: 2 invariant\(s\) broken/);
});

s('--out writes the file and says where; the exit status still tells the verdict', () => {
  const dir = tmpDir();
  const out = join(dir, 'a.csv');
  const r = cli(['audit', '--db', broken, '--format', 'csv', '--out', out]);
  assert.is(r.status, 1);
  assert.match(r.stdout, new RegExp(`2 invariant\\(s\\) broken: 7 at seq ${badSeq}, S6 at seq \\d+ .*written to ${out}`));
  assert.match(readFileSync(out, 'utf8'), /^section,key,value/);
});

s('bad input: exit 2 with a one-line message', () => {
  const dir = tmpDir();
  const missing = cli(['audit', '--db', join(dir, 'nope.db')]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /nope\.db: no such file/);
  const fmt = cli(['audit', '--db', path, '--format', 'pdf']);
  assert.is(fmt.status, 2);
  assert.match(fmt.stderr, /pdf/);
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not a database');
  const j = cli(['audit', '--db', junk]);
  assert.is(j.status, 2);
  assert.is(j.stderr.trim().split('\n').length, 1, j.stderr);
  const out = cli(['audit', '--db', path, '--out', join(dir, 'no', 'such', 'dir.txt')]);
  assert.is(out.status, 2);
  assert.match(out.stderr, /cannot write/);
});

s('--help documents the formats, the csv columns and the exit status', () => {
  const r = cli(['audit', '--help']);
  assert.is(r.status, 0);
  assert.match(r.stdout, /--format <format>/);
  assert.match(r.stdout, /Exit status: 0 every invariant holds, 1 at least one is broken/);
  for (const name of Object.keys(CSV_SECTIONS)) assert.match(r.stdout, new RegExp(`  ${name}: `));
});

s.run();
