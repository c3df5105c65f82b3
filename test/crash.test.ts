import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { ackFailures, auditFailures, parseAcks, stateFailures, verifyFailure, type Ack } from './fixtures/ledger_checks.js';
import { sleep, startWorker, within } from './fixtures/spawn_worker.js';
import { tmpDb, mulberry32 } from './helpers.js';

const s = suite('crash');

const KILLS = 24;

/** The kill moments are random but the same every run. */
const prng = mulberry32;

s('SIGKILL at random moments: acknowledged requests survive, the log verifies and audits, the next request works', async () => {
  const path = tmpDb();
  // A small quota, so that quota_exhausted and lazy quota adjusts happen in a short run.
  (await openLedger(path, { pasid_quota: 20 })).close();
  const rnd = prng(0xc4a5);
  let acked = 0;
  let midRun = 0;
  for (let k = 0; k < KILLS; k++) {
    const w = startWorker([path, 'w', '0', String(1000 + k)], 20_000);
    if (k % 5 === 4) {
      // Some kills land while the worker opens the file and catches up, before any request.
      await sleep(Math.floor(rnd() * 150));
    } else {
      await within(w.lines(1 + Math.floor(rnd() * 3)), 15_000, `worker ${k} first request`);
      await sleep(Math.floor(rnd() * 60));
    }
    w.child.kill('SIGKILL');
    const end = await within(w.done, 15_000, `worker ${k} exit`);
    assert.is(w.stderr(), '', `worker ${k} failed before the kill`);
    assert.is(end.signal, 'SIGKILL', `worker ${k} ended by ${end.signal ?? `exit ${end.code}`}, not the kill`);
    const acks: Ack[] = parseAcks(w.stdout());
    acked += acks.length;
    if (acks.length > 0) midRun++;

    const l = await openLedger(path);
    try {
      assert.is(verifyFailure(l.db), null, `after kill ${k}: the chain verifies`);
      assert.equal(ackFailures(l.log, acks), [], `after kill ${k}: every acknowledged request is in the log with its outcome`);
      assert.equal(auditFailures(l.db), [], `after kill ${k}: the audit finds every invariant holding`);
      assert.equal(stateFailures(l.state), [], `after kill ${k}: the state's invariants hold`);
      const head = l.head().seq;
      const o = l.request({ op: 'vm_start', vm: `probe${k}`, mm: `probe-mm${k}` });
      assert.is(o.ret, 0, `after kill ${k}: the next request works`);
      assert.is(o.seq, head + 1, `after kill ${k}: it is appended right after the head`);
    } finally {
      l.close();
    }
  }
  assert.ok(midRun >= 15, `most kills land mid-run (${midRun} of ${KILLS})`);
  assert.ok(acked > KILLS, `the workers acknowledged requests (${acked})`);
});

s.run();
