import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditJson, cli, Crafter, firstBreaks, realLog } from './audit_craft.js';
import { setupVm } from './helpers.js';
import { tamperedCopy } from './tamper.js';

const s = suite('audit: chain, clock order, decided outcomes');
const ALL = { min: 1, max: 0xfffff };

let path: string;
s.before(async () => {
  path = await realLog({ pasid_quota: 10 }, (l) => {
    setupVm(l);
    for (let i = 0; i < 4; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
  });
});

s('an entry text edited without rehashing fails the audit (S4, naming the seq); --no-verify says loudly it did not check', () => {
  // The last ALLOC request now claims it was refused; leaf and chain left as they were.
  let seq = 0;
  const p = tamperedCopy(path, (db) => {
    const row = db.prepare("SELECT seq, entry FROM entries WHERE op = 'pasid_alloc' ORDER BY seq DESC LIMIT 1").get() as { seq: number; entry: string };
    seq = row.seq;
    const edited = row.entry.replace('"ret":0', '"ret":-22');
    assert.not.equal(edited, row.entry);
    db.prepare('UPDATE entries SET entry = ? WHERE seq = ?').run(edited, seq);
  });
  const { status, report } = auditJson(p);
  assert.is(status, 1);
  assert.is(firstBreaks(report).S4, seq);
  const text = cli(['audit', '--db', p]);
  assert.is(text.status, 1);
  assert.match(text.stdout, new RegExp(`chain_intact\\s+│ BROKEN\\s+│ ${seq}`));
  const skipped = cli(['audit', '--db', path, '--no-verify']);
  assert.is(skipped.status, 0);
  assert.match(skipped.stdout, /chain head [0-9a-f]{64} NOT CHECKED/);
  assert.match(skipped.stderr, /the hash chain was NOT checked/);
  const checked = cli(['audit', '--db', path]);
  assert.is(checked.status, 0);
  assert.match(checked.stdout, /chain head [0-9a-f]{64} \(recomputed from entry 1/);
});

s('an accepted ALLOC that caused no transition fails the audit (S6); so does a refused request with one', async () => {
  const p = await realLog({ pasid_quota: 10 }, (l) => setupVm(l));
  const c = await Crafter.open(p);
  const silent = c.request('pasid_alloc', { container: 'c1', ...ALL }, { ret: 0, vm: 'vm1', pasid: 1 });
  c.commit();
  const r = auditJson(p);
  assert.is(r.status, 1);
  assert.is(firstBreaks(r.report).S6, silent);
  assert.match(r.report.invariants.find((i) => i.id === 'S6')!.first!.detail, /missing pasid ALLOC of PASID 1/);

  const q = await realLog({ pasid_quota: 10 }, (l) => setupVm(l));
  const c2 = await Crafter.open(q);
  c2.request('pasid_alloc', { container: 'nope', ...ALL }, { ret: -22, reason: 'no_such_container' });
  const extra = c2.transition({ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 1, vfio_mm: 1, mm: '0x1000', container: 'c1' });
  c2.commit();
  const r2 = auditJson(q);
  assert.is(r2.status, 1);
  assert.ok(firstBreaks(r2.report).S6 !== null && firstBreaks(r2.report).S6! <= extra);
});

s('a clock that goes back is a finding naming the seq (S5, audit fails); verify warns and exits 0', async () => {
  // A real ledger whose clock goes back a year after setup: every entry is what it hashed.
  let calls = 0;
  const clock = () => new Date(Date.parse(++calls <= 5 ? '2026-01-01T00:00:00.000Z' : '2025-01-01T00:00:00.000Z') + calls * 1000);
  let back = 0;
  const q = await realLog({ pasid_quota: 10, clock }, (l) => {
    setupVm(l);
    back = l.request({ op: 'vm_start', vm: 'vm7', mm: '0x7000' }).seq;
  });
  const r = auditJson(q);
  assert.is(r.status, 1);
  assert.is(firstBreaks(r.report).S5, back);
  assert.equal(Object.entries(firstBreaks(r.report)).filter(([, v]) => v !== null).map(([k]) => k), ['S5'], 'nothing else is wrong');
  const v = cli(['verify', '--db', q]);
  assert.is(v.status, 0, v.stdout);
  assert.match(v.stdout, new RegExp(`warning: the clock went back at 1 entry: seq ${back} `));
});

s.run();
