import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, freshLedger, setupVm } from './helpers.js';

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

// replay --at N on a request entry shows the state before the request's transitions:
// the output says so, and --after-request moves to the state after the whole request.
const s = suite('replay --at a request entry');

s('a request with transitions: a note, and --after-request includes them', async () => {
  const l = await freshLedger();
  setupVm(l);
  const out = l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 10 });
  const db = l.label;
  l.close();
  const before = cli('replay', '--db', db, '--at', String(out.seq), '--json');
  assert.is(before.status, 0, before.stderr);
  assert.match(before.stderr, `entry ${out.seq} is request ${out.seq} (pasid_alloc), whose transitions are entry ${out.seq + 1}`);
  assert.is(JSON.parse(before.stdout).vfio_mms[0].held, 0, 'at the request entry the PASID is not yet held');
  const after = cli('replay', '--db', db, '--at', String(out.seq), '--after-request', '--json');
  assert.is(after.status, 0, after.stderr);
  assert.is(JSON.parse(after.stdout).seq, out.seq + 1);
  assert.is(JSON.parse(after.stdout).vfio_mms[0].held, 1, 'after the whole request the PASID is held');
  const text = cli('replay', '--db', db, '--at', String(out.seq));
  assert.match(text.stdout.split('\n')[0]!, 'add --after-request');
});

s('a refused request caused nothing: no note, --after-request stays put', async () => {
  const l = await freshLedger();
  setupVm(l);
  const out = l.request({ op: 'pasid_free', container: 'c1', pasid: 7 });
  assert.ok(out.ret < 0);
  const db = l.label;
  l.close();
  const r = cli('replay', '--db', db, '--at', String(out.seq), '--after-request', '--json');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.is(JSON.parse(r.stdout).seq, out.seq);
});

s('--after-request with --verify is refused as bad input', async () => {
  const l = await freshLedger();
  const db = l.label;
  l.close();
  const r = cli('replay', '--db', db, '--verify', '--after-request');
  assert.is(r.status, 2);
});

s.run();
