import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '../src/ledger.js';
import { CLI, tmpDir } from './helpers.js';

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const REQUESTS = [
  '# a comment, and a blank line follow',
  '',
  '{"op":"vm_start","vm":"vm1","mm":"0x1000"}',
  '{"op":"container_open","vm":"vm1","container":"c1"}',
  '{"op":"group_attach","container":"c1","group":"g1"}',
  '{"op":"set_iommu","container":"c1","type":"VFIO_TYPE1_NESTING_IOMMU"}',
  '{"op":"pasid_alloc","container":"c1","min":1,"max":1048575}',
  '{"op":"pasid_alloc","container":"c1","min":1,"max":1048575,"id":"r2"}',
  '{"op":"pasid_free","container":"c1","pasid":5}',
  '{"op":"pasid_request","container":"c1","hex":"1400000001000000010000000a00000000000000"}',
  '{"op":"set_pasid_quota","value":1200,"actor":"admin"}',
  '{"op":"group_detach","container":"c1","group":"g1"}',
  '{"op":"container_close","container":"c1"}',
  '{"op":"vm_exit","vm":"vm1"}',
].join('\n');

const s = suite('the pasid-ledger command');

s('run --json prints one outcome per line, in order, with the public shape', () => {
  const dir = tmpDir();
  const file = join(dir, 'req.jsonl');
  writeFileSync(file, REQUESTS);
  const db = join(dir, 'a.db');
  const r = cli(['run', file, '--db', db, '--json']);
  assert.is(r.code, 0, r.err);
  const outs = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(outs.length, 12);
  outs.forEach((o, i) => {
    const keys = i === 7 ? ['seq', 'ret', 'pasid', 'reason', 'hex'] : ['seq', 'ret', 'pasid', 'reason'];
    assert.equal(Object.keys(o), keys, 'raw struct requests also return the struct as the ioctl left it');
  });
  assert.is(outs[7].hex, '1400000001000000010000000a00000003000000', 'result@16 = 3');
  assert.equal(outs.slice(4, 8).map((o) => [o.ret, o.pasid, o.reason]), [[0, 1, null], [0, 2, null], [-2, 5, 'not_allocated'], [0, 3, null]]);
  assert.ok(outs.every((o, i) => i === 0 || o.seq > outs[i - 1].seq), 'seqs increase');
});

s('run (text), state and log read the same db; state --json has the documented keys', async () => {
  const dir = tmpDir();
  const file = join(dir, 'req.jsonl');
  writeFileSync(file, REQUESTS.split('\n').slice(0, 8).join('\n'));
  const db = join(dir, 'a.db');
  const r = cli(['run', file, '--db', db]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /pasid_alloc {2}ret 0 {2}pasid 1/);
  const st = JSON.parse(cli(['state', '--db', db, '--json']).out);
  for (const k of ['vms', 'containers', 'vfio_mms', 'capacity_avail']) assert.ok(k in st, k);
  assert.equal(st.vfio_mms[0].pasids, [1, 2]);
  assert.equal([st.vfio_mms[0].mm, st.vfio_mms[0].refs, st.vfio_mms[0].quota], ['0x1000', 1, 1000]);
  const text = cli(['state', '--db', db]).out;
  assert.match(text, /mm 0x1000 gen 1 {2}refs 1 {2}quota 1000 {2}held 2 {2}pasids 1-2/);
  const log = cli(['log', '--db', db, '--pasid', '2', '--json']).out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.map((e) => e.type), ['request', 'transition']);
  const byVm = cli(['log', '--db', db, '--vm', 'vm1']).out;
  assert.match(byVm, /pasid ALLOC free→allocated/);
  const l = await openLedger(db);
  assert.is(l.head().seq, 14, 'config + 6 requests + 7 transitions');
  l.close();
});

s('a malformed line refuses the whole file with its line number, and nothing is applied', () => {
  const dir = tmpDir();
  const db = join(dir, 'a.db');
  const cases: Array<[string, RegExp]> = [
    ['{"op":"vm_start","vm":"vm1","mm":"0x1000"}\n{"op":"pasid_alloc","container":"c1","min":1}', /:2: pasid_alloc: missing "max"/],
    ['{"op":"vm_start","vm":"vm1","mm":"0x1000"}\n\nnot json', /:3: not JSON/],
    ['{"op":"launch"}', /:1: unknown op "launch"/],
    ['{"op":"pasid_free","container":"c1","pasid":-1}', /:1: pasid_free: "pasid" must be an integer in 0\.\.4294967295/],
    ['{"op":"pasid_request","container":"c1","hex":"abc"}', /hex digits/],
    ['{"op":"vm_start","vm":"vm1","mm":"0x1000","extra":1}', /unknown field "extra"/],
    ['[1,2]', /must be a JSON object/],
  ];
  for (const [text, msg] of cases) {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, text);
    const r = cli(['run', file, '--db', db]);
    assert.is(r.code, 2, text);
    assert.match(r.err, msg);
    assert.match(r.err, /nothing was applied/);
    assert.is(r.err.trim().split('\n').length, 1, 'one line');
  }
  assert.not.ok(existsSync(db), 'no db was even created');
});

s('a request id reused for a different request refuses the file at run time, naming the line', () => {
  const dir = tmpDir();
  const file = join(dir, 'dup.jsonl');
  writeFileSync(file, '{"op":"vm_start","vm":"a","mm":"1","id":"x"}\n# same id, other request\n{"op":"vm_start","vm":"b","mm":"2","id":"x"}\n');
  const db = join(dir, 'a.db');
  const r = cli(['run', file, '--db', db, '--json']);
  assert.is(r.code, 2);
  assert.match(r.err, /dup\.jsonl:3: request id "x" was used by a different request/);
  assert.match(r.err, /nothing was applied/);
  assert.equal(JSON.parse(cli(['state', '--db', db, '--json']).out).vms, []);
  // The same request retried under its id is fine: the recorded outcome comes back.
  writeFileSync(file, '{"op":"vm_start","vm":"a","mm":"1","id":"x"}\n{"op":"vm_start","vm":"a","mm":"1","id":"x"}\n');
  const ok = cli(['run', file, '--db', db, '--json']);
  assert.is(ok.code, 0, ok.err);
  const outs = ok.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(outs[1], { ...outs[0], replayed: true }, 'the retry shows the recorded outcome, marked replayed');
});

s('configuration flags create a log; on an existing log a differing flag is refused', () => {
  const dir = tmpDir();
  const file = join(dir, 'r.jsonl');
  writeFileSync(file, '{"op":"vm_start","vm":"vm1","mm":"0x1"}\n');
  const db = join(dir, 'a.db');
  assert.is(cli(['run', file, '--db', db, '--pasid-quota', '5', '--capacity', '100']).code, 0);
  const st = JSON.parse(cli(['state', '--db', db, '--json']).out);
  assert.equal([st.pasid_quota, st.capacity, st.profile], [5, 100, 'v1']);
  writeFileSync(file, '{"op":"vm_start","vm":"vm2","mm":"0x2"}\n');
  const r = cli(['run', file, '--db', db, '--pasid-quota', '6']);
  assert.is(r.code, 2);
  assert.match(r.err, /pasid_quota is 5 in the log, not 6/);
  assert.is(cli(['run', file, '--db', db, '--pasid-quota', '5']).code, 0, 'the same value is fine');
  assert.match(cli(['run', file, '--db', db, '--pasid-quota', 'lots']).err, /--pasid-quota must be an integer/);
});

s('state and log only read: the file is byte for byte the same afterwards', () => {
  const dir = tmpDir();
  const db = join(dir, 'demo.db');
  assert.is(cli(['demo', '--db', db]).code, 0);
  const before = readFileSync(db);
  assert.is(cli(['state', '--db', db, '--json']).code, 0);
  assert.is(cli(['log', '--db', db, '--vm', 'vm2']).code, 0);
  assert.ok(readFileSync(db).equals(before));
});

s('missing or unreadable inputs get one clear line and exit 2', () => {
  const dir = tmpDir();
  let r = cli(['state', '--db', join(dir, 'nope.db')]);
  assert.is(r.code, 2);
  assert.match(r.err, /nope\.db: no such file/);
  r = cli(['run', join(dir, 'missing.jsonl'), '--db', join(dir, 'a.db')]);
  assert.is(r.code, 2);
  assert.match(r.err, /missing\.jsonl: cannot read: ENOENT/);
  r = cli(['run', '-', '--db', join(dir, 'no/such/dir/a.db')], '{"op":"vm_start","vm":"v","mm":"m"}');
  assert.is(r.code, 2);
  assert.match(r.err, /directory .* does not exist/);
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not a database, just some text that is long enough to have a header '.repeat(20));
  r = cli(['state', '--db', junk]);
  assert.is(r.code, 2);
  assert.match(r.err, /not a database/);
  r = cli(['state']);
  assert.is(r.code, 2);
  assert.match(r.err, /--db/);
});

s('--help on every command', () => {
  const top = cli(['--help']);
  assert.is(top.code, 0);
  const commands = [...top.out.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  for (const c of ['run', 'state', 'log', 'demo']) assert.ok(commands.includes(c), c);
  for (const c of commands) {
    const r = cli([c, '--help']);
    assert.is(r.code, 0, c);
    assert.match(r.out, /Usage: pasid-ledger/, c);
  }
});

s('demo tells the story from a real log and refuses to overwrite without --fresh', () => {
  const dir = tmpDir();
  const db = join(dir, 'demo.db');
  const r = cli(['demo', '--db', db]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /share vm1's vfio_mm #1 \(refs 2/);
  assert.match(r.out, /ALLOC returns -14 \(EFAULT\) and the log records why: quota_exhausted/);
  assert.match(r.out, /admin raises pasid_quota to 12; vm2's next ALLOC adjusts its set lazily and gets PASID 14/);
  assert.match(r.out, /all 9 of its PASIDs are freed/);
  assert.match(r.out, /gets PASID 6, which vm2 held/);
  const again = cli(['demo', '--db', db]);
  assert.is(again.code, 2);
  assert.match(again.err, /--fresh/);
  assert.is(cli(['demo', '--db', db, '--fresh']).code, 0);
  const st = JSON.parse(cli(['state', '--db', db, '--json']).out);
  assert.equal(st.vms.map((v: { state: string }) => v.state), ['running', 'crashed']);
});

s.run();
