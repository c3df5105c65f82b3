import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { evolve } from '../src/model/evolve.js';
import { emptyState } from '../src/model/state.js';
import type { Entry } from '../src/model/types.js';
import { viewState } from '../src/model/view.js';
import { ackFailures, auditFailures, parseAcks, stateFailures, verifyFailure } from './fixtures/ledger_checks.js';
import { sleep, startWorker, within } from './fixtures/spawn_worker.js';
import { tmpDb } from './helpers.js';

const s = suite('concurrency');

const WORKERS = 4;
const REQUESTS = 250;

s('four processes write one file at once: no SQLITE_BUSY, no gap, no PASID twice, quotas hold, state = replay', async () => {
  const path = tmpDb();
  const watcher = await openLedger(path, { pasid_quota: 30 });
  try {
    // Every worker's second vm runs with the same mm token: their containers charge one
    // shared vfio_mm and race for its quota; their first vms have accounts of their own.
    const go = join(dirname(path), 'go');
    const ws = Array.from({ length: WORKERS }, (_, k) =>
      startWorker([path, `p${k}`, String(REQUESTS), String(77 + k), 'shared-mm'], 60_000, { WORKER_GO: go }));
    // A barrier: every worker has opened the file before any of them writes.
    await within((async () => {
      while (!ws.every((_, k) => existsSync(`${go}.p${k}.ready`))) await sleep(5);
    })(), 30_000, 'the workers opening the file');
    writeFileSync(go, '');
    const ends = await within(Promise.all(ws.map((w) => w.done)), 60_000, 'the four workers');
    ws.forEach((w, k) => {
      assert.is(w.stderr(), '', `worker ${k} saw no error (no SQLITE_BUSY)`);
      assert.equal(ends[k], { code: 0, signal: null }, `worker ${k} exited cleanly`);
    });
    const acks = ws.map((w) => parseAcks(w.stdout()));
    acks.forEach((a, k) => assert.is(a.length, REQUESTS, `worker ${k} acknowledged every request`));

    const head = watcher.head().seq;
    const all = acks.flat().sort((a, b) => a.seq - b.seq);
    assert.is(new Set(all.map((a) => a.seq)).size, all.length, 'no two requests got one seq');
    // The writers interleaved: in seq order, the writer changes several times. (Not at
    // every request: a writer that finds the lock taken sleeps in SQLite's busy handler
    // while the holder commits and takes it again, so writers run in streaks.)
    const owner = new Map(acks.flatMap((a, k) => a.map((x) => [x.seq, k] as const)));
    let switches = 0;
    for (let i = 1; i < all.length; i++) if (owner.get(all[i]!.seq) !== owner.get(all[i - 1]!.seq)) switches++;
    assert.ok(switches >= 4, `the writers interleaved (${switches} switches)`);

    const count = watcher.db.prepare('SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM entries').get() as { n: number; lo: number; hi: number };
    assert.equal(count, { n: head, lo: 1, hi: head }, 'seq has no gap');
    assert.is(verifyFailure(watcher.db), null, 'the chain verifies');
    assert.equal(ackFailures(watcher.log, all), [], 'every acknowledged outcome is in the log');
    assert.equal(auditFailures(watcher.db), [], 'the audit finds every invariant holding');
    assert.equal(stateFailures(watcher.state), [], 'no PASID held twice, every quota holds, capacity balances');
    const shared = watcher.view().vfio_mms.filter((m) => m.mm === 'shared-mm');
    assert.ok(shared.length <= 1, 'one live vfio_mm for the shared mm token');

    // The state the watcher caught up to equals a fresh replay of the log from entry 1
    // (no snapshot) and the state a newly opened ledger serves.
    const fresh = emptyState(watcher.config);
    for (const row of watcher.log.after(0)) evolve(fresh, JSON.parse(row.entry) as Entry);
    assert.equal(watcher.view(), viewState(fresh), 'caught-up state = replay from entry 1');
    const reopened = await openLedger(path);
    try {
      assert.equal(reopened.view(), viewState(fresh), 'a new ledger on the file serves the same state');
    } finally {
      reopened.close();
    }
  } finally {
    watcher.close();
  }
});

s.run();
