import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { CLI, setupVm, tmpDb } from './helpers.js';

const s = suite('timeline: --vm streams');
const ALL = { min: 1, max: 0xfffff };
/** A V8 heap this small holds the CLI but not 100,000 parsed entries (the old code held them all, and their text). */
const HEAP_MB = 48;

let path: string;
let head = 0;
/** Every entry is vm1's but the configuration and the ledger's snapshot entries. */
let vmEntries = 0;
let last = 0;

s.before(async () => {
  path = tmpDb();
  const l = await openLedger(path, { synchronous: 'OFF', pasid_quota: 100 });
  setupVm(l);
  const reqs: unknown[] = [];
  for (let i = 0; i < 25_000; i++) {
    reqs.push({ op: 'pasid_alloc', container: 'c1', ...ALL });
    reqs.push({ op: 'pasid_free', container: 'c1', pasid: 1 });
  }
  for (let i = 0; i < reqs.length; i += 10_000) l.batchUntrusted(reqs.slice(i, i + 10_000));
  head = l.head().seq;
  l.close();
  const db = new Database(path, { readonly: true });
  const r = db.prepare("SELECT count(*) AS n, max(seq) AS m FROM entries WHERE type IN ('request', 'transition')").get() as { n: number; m: number };
  db.close();
  vmEntries = r.n;
  last = r.m;
});

s(`timeline --vm on a ${'100,000'}-entry log runs in a ${HEAP_MB} MB heap, text and JSON`, () => {
  assert.ok(head >= 100_000, `${head} entries`);
  const text = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, CLI, 'timeline', '--db', path, '--vm', 'vm1'], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 60_000 });
  assert.is(text.status, 0, text.stderr.slice(-2000));
  const lines = text.stdout.split('\n');
  assert.match(lines[0]!, new RegExp(`^vm vm1: ${vmEntries} entries, 50004 requests, 0 failed`), lines[0]);
  assert.is(lines.filter((x) => /^\s*\d+  \S+  /.test(x)).length, vmEntries, 'every entry but the configuration printed');
  const json = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, CLI, 'timeline', '--db', path, '--vm', 'vm1', '--json'], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 60_000 });
  assert.is(json.status, 0, json.stderr.slice(-2000));
  const t = JSON.parse(json.stdout) as { entries: Array<{ seq: number }>; requests: { total: number } };
  assert.is(t.entries.length, vmEntries);
  assert.is(t.entries[t.entries.length - 1]!.seq, last);
  assert.is(t.requests.total, 50_004);
});

s.run();
