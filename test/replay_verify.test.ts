import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyReplay } from '../src/replay/verify_replay.js';
import { verifyLog } from '../src/replay/verify.js';
import { CLI } from './helpers.js';
import { craftLog } from './tamper.js';
import { closedStory, type Story } from './replay_story.js';

const s = suite('replay --verify (re-deciding every request)');
let story: Story;
let entries: Array<Record<string, unknown>>;

s.before(async () => {
  let db: Database.Database;
  ({ story, db, entries } = await closedStory());
  db.close();
});

function check(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    // A crafted log has a correct chain: only re-deciding can tell it from a real one.
    assert.ok(verifyLog(db).ok, 'the crafted log verifies');
    return verifyReplay(db);
  } finally {
    db.close();
  }
}

const firstSeq = (pred: (e: Record<string, unknown>) => boolean) => entries.find(pred)!.seq as number;

s('every recorded request of a real log is re-decided to the same outcome and transitions', () => {
  const db = new Database(story.path, { readonly: true });
  const r = verifyReplay(db);
  db.close();
  assert.ok(r.ok);
  assert.is(r.entries, entries.length);
  assert.is(r.requests, story.outcomes.length);
  assert.is(r.mismatch, null);
});

s("a request's recorded outcome altered below the ledger is named: ret", async () => {
  const seq = firstSeq((e) => e.reason === 'quota_exhausted');
  const path = await craftLog(entries.map((e) => (e.seq === seq ? { ...e, ret: 0 } : e)));
  const r = check(path);
  assert.not.ok(r.ok);
  assert.is(r.mismatch!.seq, seq);
  assert.is(r.mismatch!.field, 'ret');
  assert.is(r.mismatch!.recorded, 0);
  assert.is(r.mismatch!.decided, -14);
});

s('a recorded reason, PASID or hex altered is named', async () => {
  const denied = firstSeq((e) => e.reason === 'not_owner');
  const r1 = check(await craftLog(entries.map((e) => (e.seq === denied ? { ...e, reason: 'not_allocated' } : e))));
  assert.is(r1.mismatch?.seq, denied);
  assert.is(r1.mismatch?.field, 'reason');
  const alloc = firstSeq((e) => e.type === 'request' && e.op === 'pasid_alloc' && e.ret === 0);
  // The PASID handed out changed in the request and in its transition alike: still not what lowest-free picks.
  const r2 = check(await craftLog(entries.map((e) => (e.seq === alloc || (e.cause === alloc && e.machine === 'pasid') ? { ...e, pasid: 77 } : e))));
  assert.is(r2.mismatch?.seq, alloc);
  assert.is(r2.mismatch?.field, 'pasid');
  const raw = firstSeq((e) => e.op === 'pasid_request' && e.ret === 0 && typeof e.hex === 'string');
  const r3 = check(await craftLog(entries.map((e) => (e.seq === raw ? { ...e, hex: String(e.hex).replace(/.$/, '9') } : e))));
  assert.is(r3.mismatch?.seq, raw);
  assert.is(r3.mismatch?.field, 'hex');
});

s("a transition's recorded fields altered, dropped or added is named at that transition", async () => {
  const t = entries.find((e) => e.machine === 'vfio_mm' && e.event === 'RELEASE')!;
  const r1 = check(await craftLog(entries.map((e) => (e.seq === t.seq ? { ...e, freed: 99 } : e))));
  assert.is(r1.mismatch?.seq, t.seq);
  assert.is(r1.mismatch?.request, t.cause);
  assert.is(r1.mismatch?.field, 'freed');
  const r2 = check(await craftLog(entries.map((e) => (e.seq === t.seq ? { ...e, to: 'live' } : e))));
  assert.is(r2.mismatch?.field, 'to');
  // A PASID FREE of a teardown dropped (the log renumbered after it): named at the seq where it should be.
  const free = entries.find((e) => e.machine === 'pasid' && e.event === 'FREE' && e.container === undefined)!;
  const r3 = check(await craftLog(entries.filter((e) => e.seq !== free.seq)));
  assert.is(r3.mismatch?.seq, free.seq);
  assert.is(r3.mismatch?.request, free.cause);
  // One transition too many: a copy of a request's last transition.
  const last = entries.findIndex((e) => e.seq === free.seq);
  const extra = [...entries.slice(0, last + 1), entries[last]!, ...entries.slice(last + 1)];
  const r4 = check(await craftLog(extra));
  assert.not.ok(r4.ok);
  assert.is(r4.mismatch?.seq, (free.seq as number) + 1);
});

s('a log written under another configuration than its requests imply is caught at the first difference', async () => {
  // The same entries under pasid_quota 3: the fourth ALLOC of vm1 would now be refused.
  const altered = entries.map((e) => (e.seq === 1 ? { ...e, pasid_quota: 3 } : e));
  const r = check(await craftLog(altered));
  assert.not.ok(r.ok);
  const firstQuotaHit = entries.find((e) => e.type === 'transition' && e.machine === 'vfio_mm' && e.event === 'CREATE')!;
  assert.is(r.mismatch!.seq, firstQuotaHit.seq);
  assert.is(r.mismatch!.field, 'quota');
});

s('replay --verify on the command line: exit 0 on a real log, exit 1 naming the seq on a crafted one', async () => {
  const ok = spawnSync(process.execPath, [CLI, 'replay', '--db', story.path, '--verify'], { encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`${story.outcomes.length} requests re-decided`));
  const seq = firstSeq((e) => e.reason === 'pasid_zero');
  const bad = await craftLog(entries.map((e) => (e.seq === seq ? { ...e, ret: 0 } : e)));
  const r = spawnSync(process.execPath, [CLI, 'replay', '--db', bad, '--verify'], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stdout, new RegExp(`^seq ${seq} differs: request ${seq} \\(pasid_alloc\\): ret is 0 in the log, -14 today`));
  const j = spawnSync(process.execPath, [CLI, 'replay', '--db', bad, '--verify', '--json'], { encoding: 'utf8' });
  assert.is(j.status, 1);
  assert.is(JSON.parse(j.stdout).mismatch.seq, seq);
});

s.run();
