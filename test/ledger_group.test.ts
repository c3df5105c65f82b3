import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freshLedger, setupVm } from './helpers.js';

test('group: items decided in order against their predecessors, committed in one transaction, each with its token', async () => {
  const l = await freshLedger();
  setupVm(l);
  const before = l.head().seq;
  const res = l.group([
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }], by: 'tok-a' },
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }, { op: 'pasid_free', container: 'c1', pasid: 1 }], by: 'tok-b' },
  ]);
  assert.equal(res.map((r) => r.ok && r.outcomes.map((o) => o.pasid)), [[1], [2, 1]]);
  const rows = [...l.log.after(before)].map((r) => JSON.parse(r.entry));
  assert.equal(rows.filter((e) => e.type === 'request').map((e) => e.by), ['tok-a', 'tok-b', 'tok-b']);
  l.close();
});

test('group: a malformed item, a forbidden item and a request-id conflict write nothing and do not fail the others', async () => {
  const l = await freshLedger();
  setupVm(l);
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100, id: 'r1' });
  const before = l.head().seq;
  const res = l.group([
    { reqs: [{ op: 'pasid_alloc', container: 'c1' }] },
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }], admit: () => 'not yours' },
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }, { op: 'pasid_free', container: 'c1', pasid: 1, id: 'r1' }] },
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100, id: 'x' }, { op: 'pasid_alloc', container: 'c1', min: 5, max: 100, id: 'x' }] },
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }] },
    // The admit check sees the host the items before it left.
    { reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }], admit: (s) => (s.owner.has(2) ? null : 'pasid 2 should be held by now') },
  ]);
  assert.equal(res.map((r) => (r.ok ? 'ok' : r.refused)), ['invalid', 'forbidden', 'invalid', 'invalid', 'ok', 'ok']);
  assert.match((res[2] as { message: string }).message, /request 1: request id "r1" was used by a different request/);
  assert.match((res[3] as { message: string }).message, /two different requests of this batch/);
  assert.equal(res.slice(4).map((r) => r.ok && r.outcomes[0]!.pasid), [2, 3]);
  // Only the two admitted requests (with one ALLOC transition each) were written.
  assert.is(l.head().seq, before + 4);
  // A retry of a recorded id in a group is answered from the log.
  const again = l.group([{ reqs: [{ op: 'pasid_alloc', container: 'c1', min: 1, max: 100, id: 'r1' }] }]);
  assert.equal(again[0]!.ok && again[0]!.outcomes[0]!.replayed, true);
  assert.is(l.head().seq, before + 4);
  l.close();
});

test('grantToken and revokeToken: log entries with the secret\'s hash, never the secret; a double revoke is refused', async () => {
  const l = await freshLedger();
  const t = l.grantToken('vmm', 'vm1');
  assert.match(t.secret, /^plt_[A-Za-z0-9_-]{43}$/);
  const e = JSON.parse(l.log.row(l.head().seq)!.entry);
  assert.equal({ type: e.type, action: e.action, token: e.token, role: e.role, vm: e.vm }, { type: 'token', action: 'add', token: t.token, role: 'vmm', vm: 'vm1' });
  assert.not.ok(l.log.row(l.head().seq)!.entry.includes(t.secret));
  assert.throws(() => l.grantToken('vmm'), /needs a vm/);
  assert.throws(() => l.grantToken('admin', 'vm1'), /names no vm/);
  l.revokeToken(t.token);
  assert.throws(() => l.revokeToken(t.token), /already revoked/);
  assert.throws(() => l.revokeToken('tok-999'), /never granted|no token/);
  l.close();
});

test.run();
