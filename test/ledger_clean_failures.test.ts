import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger, type LedgerOptions } from '../src/ledger.js';
import { StoreError } from '../src/store/open.js';
import { setupVm, steppingClock, tmpDb, tmpDir } from './helpers.js';

/*
 * The library fails cleanly: a closed ledger says so, a mistyped option is refused
 * rather than ignored, and an open that fails on a new path leaves no half-made file.
 */

const T = suite('ledger_clean_failures');

T('a closed ledger throws StoreError("ledger is closed") from every method', async () => {
  const l = await openLedger(tmpDb(), { clock: steppingClock() });
  setupVm(l);
  l.close();
  assert.ok(l.closed);
  const calls: Array<[string, () => unknown]> = [
    ['request', () => l.request({ op: 'vm_exit', vm: 'vm1' })],
    ['batch', () => l.batch([{ op: 'vm_exit', vm: 'vm1' }])],
    ['state', () => l.state],
    ['view', () => l.view()],
    ['pasidOwner', () => l.pasidOwner(1)],
    ['capacityAvail', () => l.capacityAvail],
    ['head', () => l.head()],
    ['pasidRequest', () => l.pasidRequest('c1', new Uint8Array(20))],
  ];
  for (const [name, call] of calls) {
    assert.throws(call, (e: unknown) => e instanceof StoreError && /^ledger is closed/.test((e as Error).message), name);
  }
  l.close(); // a second close is harmless
});

T('an unknown option is refused, naming it and the known ones', async () => {
  const path = tmpDb();
  for (const bad of [{ pasidQuota: 5 }, { pasid_quota: 5, syncronous: 'OFF' }, { readOnly: true }] as unknown as LedgerOptions[]) {
    const name = Object.keys(bad).find((k) => !['pasid_quota'].includes(k))!;
    await openLedger(path, bad).then(
      () => assert.unreachable(`${name} accepted`),
      (e: unknown) => {
        assert.instance(e, StoreError);
        assert.match((e as Error).message, new RegExp(`unknown option "${name}"; the options are clock, profile, pasid_bits, capacity, pasid_quota`));
      },
    );
  }
  assert.not.ok(existsSync(path), 'no file made');
});

T('open options of the wrong type are refused before any file is made', async () => {
  const path = tmpDb();
  for (const bad of [{ busyTimeout: 'abc' }, { synchronous: 'FAST' }, { readonly: 'yes' }, { clock: 5 }] as unknown as LedgerOptions[]) {
    await openLedger(path, bad).then(() => assert.unreachable(JSON.stringify(bad)), (e: unknown) => assert.instance(e, StoreError));
  }
  assert.not.ok(existsSync(path));
});

T('a failed open of a new path leaves no file; an existing file is kept as it was', async () => {
  const dir = tmpDir();
  const path = join(dir, 'new.db');
  const badClock = () => new Date(NaN);
  await openLedger(path, { clock: badClock }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, RangeError));
  assert.equal(readdirSync(dir), [], 'no .db, -wal or -shm left behind');
  // An existing log: a config mismatch keeps it, byte for byte.
  const l = await openLedger(path, { pasid_quota: 7 });
  l.close();
  const bytes = readFileSync(path);
  await openLedger(path, { pasid_quota: 8 }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, StoreError));
  assert.ok(readFileSync(path).equals(bytes));
  // An existing empty file (someone else's) is never removed, even though the open fails on it.
  const other = join(dir, 'other.db');
  writeFileSync(other, '');
  await openLedger(other, { clock: badClock }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, RangeError));
  assert.ok(existsSync(other), 'a file that existed before is kept');
});

T.run();
