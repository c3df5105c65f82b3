import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, tmpDir } from './helpers.js';
import { writeStory, type Story } from './replay_story.js';

const s = suite('cli: replay, explain, timeline, diff');
let story: Story;
let head: number;

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

s.before(async () => {
  story = await writeStory();
  head = story.ledger.head().seq;
  story.ledger.close();
});

s('replay --at SEQ --json is the shape of state --json, at that seq; --vm narrows; text uses the state format', () => {
  const r = cli('replay', '--db', story.path, '--at', '60', '--json');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '', 'no progress output when stderr is not a terminal');
  assert.equal(JSON.parse(r.stdout), story.views.get(60));
  const end = cli('replay', '--db', story.path, '--at', String(head), '--json');
  assert.equal(JSON.parse(end.stdout), story.views.get(head), 'at the head: what state --json showed last');
  const vm = cli('replay', '--db', story.path, '--at', '60', '--vm', 'vm2');
  assert.is(vm.status, 0);
  assert.match(vm.stdout, /^seq 60 at .* pasid_quota 6 /);
  assert.match(vm.stdout, /vms \(1\):\n {2}vm2 {2}mm 0x2000 {2}running/);
});

s('replay --at TIME: the last entry at or before it', () => {
  const r = cli('replay', '--db', story.path, '--at', '2026-01-01T00:00:30Z', '--json');
  assert.is(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.ok(v.at <= '2026-01-01T00:00:30.000Z');
  assert.equal(v, story.views.get(v.seq));
});

s('explain --seq: text and --json', () => {
  const seq = story.outcomes.find((o) => o.out.reason === 'quota_exhausted')!.out.seq;
  const t = cli('explain', '--db', story.path, '--seq', String(seq));
  assert.is(t.status, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`^seq ${seq}: pasid_alloc by vm1 .*→ ret -14 \\(EFAULT\\), reason quota_exhausted\\n`));
  assert.match(t.stdout, /why: .*held 4 PASIDs; its set allows 4/);
  const j = JSON.parse(cli('explain', '--db', story.path, '--seq', String(seq + 1), '--json').stdout);
  assert.is(j.seq, seq + 1);
});

s('timeline --pasid / --mm / --vm: summary then entries; --json', () => {
  const p = cli('timeline', '--db', story.path, '--pasid', '0');
  assert.is(p.status, 0, p.stderr);
  assert.match(p.stdout, /^PASID 0: \d+ entries, held 1 time\(s\)\n {2}vfio_mm #2 \(mm 0x2000\): allocated at seq \d+ .*freed at seq \d+ by vm_crash/);
  const m = JSON.parse(cli('timeline', '--db', story.path, '--mm', '0x2000', '--json').stdout);
  assert.is(m.generations.length, 2);
  const v = cli('timeline', '--db', story.path, '--vm', 'vm2');
  assert.match(v.stdout, /^vm vm2: \d+ entries, \d+ requests, \d+ failed; reasons recorded: .*quota_exhausted/);
  assert.match(v.stdout, /mm 0x2000: started at seq \d+, crashed at seq \d+/);
});

s('diff --from --to: seqs or times; --json', () => {
  const t = cli('diff', '--db', story.path, '--from', '1', '--to', '2026-01-01T00:01:00Z');
  assert.is(t.status, 0, t.stderr);
  assert.match(t.stdout, /^from seq 1 .* to seq \d+ /);
  assert.match(t.stdout, /admin set pasid_quota 4 → 6/);
  assert.match(t.stdout, /adjusted to quota 6: failed -28 \(ENOSPC\), its set keeps limit 4/);
  const j = JSON.parse(cli('diff', '--db', story.path, '--from', '40', '--to', String(head), '--json').stdout);
  assert.is(j.to.seq, head);
  assert.is(j.pasids.held.to, 0);
});

s('bad input exits 2 with one line: unknown seq, bad time, missing db, not a log, missing or extra flags', () => {
  const cases: Array<[string[], RegExp]> = [
    [['replay', '--db', story.path, '--at', String(head + 1)], new RegExp(`seq ${head + 1} is not in the log \\(it holds entries 1 to ${head}\\)`)],
    [['replay', '--db', story.path, '--at', 'yesterday'], /not an ISO-8601 time/],
    [['replay', '--db', join(tmpDir(), 'missing.db'), '--at', '1'], /no such file/],
    [['timeline', '--db', story.path, '--vm', 'vm1', '--mm', '0x1000'], /exactly one of --vm, --pasid, --mm/],
    [['diff', '--db', story.path, '--from', '200', '--to', '100'], /--from \(seq 200\) is after --to \(seq 100\)/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
    assert.is(r.stderr.trim().split('\n').filter((l) => l.startsWith('pasid-ledger:') || l.startsWith('error:')).length, 1);
  }
  const notLog = join(tmpDir(), 'notlog.db');
  writeFileSync(notLog, 'this is not sqlite');
  const r = cli('diff', '--db', notLog, '--from', '1', '--to', '2');
  assert.is(r.status, 2);
  assert.match(r.stderr, /cannot open/);
});

s.run();
