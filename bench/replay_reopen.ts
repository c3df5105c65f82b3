/**
 * Measures the snapshot cache on a long log: writes a log of N entries (default
 * 1,000,000: vms allocating PASIDs up to their quota, about one PASID held per two
 * entries), then times reopening it and serving one request, with and without
 * snapshots, a replay to a late seq, `verify` and `replay --verify`.
 *
 *   node dist/bench/replay_reopen.js [entries] [db path]
 */
import Database from 'better-sqlite3';
import { existsSync, rmSync, statSync } from 'node:fs';
import { openLedger } from '../src/ledger.js';
import { replayTo } from '../src/replay/replay_to.js';
import { verifyLog } from '../src/replay/verify.js';
import { verifyReplay } from '../src/replay/verify_replay.js';
import { SnapshotStore } from '../src/store/snapshots.js';

const target = Number(process.argv[2] ?? 1_000_000);
const path = process.argv[3] ?? '/tmp/pasid-ledger-bench-1m.db';
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const now = () => process.hrtime.bigint();

async function write(): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const l = await openLedger(path, { synchronous: 'OFF' });
  const t = now();
  let vm = 0;
  while (l.head().seq < target) {
    vm++;
    const c = `c${vm}`;
    l.batch([
      { op: 'vm_start', vm: `vm${vm}`, mm: `0x${vm.toString(16)}000` },
      { op: 'container_open', vm: `vm${vm}`, container: c },
      { op: 'group_attach', container: c, group: `g${vm}` },
      { op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU' },
    ]);
    const left = Math.ceil((target - l.head().seq) / 2);
    const n = Math.min(1000, left);
    l.batch(Array.from({ length: n }, () => ({ op: 'pasid_alloc', container: c, min: 1, max: 0xfffff })));
  }
  const head = l.head().seq;
  l.close();
  console.log(`wrote ${head} entries (${vm} vms) in ${(ms(t) / 1000).toFixed(1)} s; file ${(statSync(path).size / 1e6).toFixed(0)} MB`);
}

async function reopen(label: string): Promise<void> {
  const t = now();
  const l = await openLedger(path);
  const opened = ms(t);
  const out = l.request({ op: 'vm_start', vm: `probe${Date.now()}`, mm: '0xfeed' });
  const total = ms(t);
  l.close();
  console.log(`${label}: open ${opened.toFixed(0)} ms, open + next request ${total.toFixed(0)} ms (seq ${out.seq}), close ${(ms(t) - total).toFixed(0)} ms`);
}

if (!existsSync(path) || process.env.REWRITE) await write();
{
  const db = new Database(path);
  db.prepare('DELETE FROM snapshots').run();
  db.close();
}
await reopen('no snapshot (full catch-up; the request or close takes one)');
{
  const db = new Database(path, { readonly: true });
  console.log('snapshots:', new SnapshotStore(db).list().map((x) => `${x.seq} (${(x.bytes / 1e6).toFixed(1)} MB)`).join(', '));
  db.close();
}
await reopen('with the snapshot');
{
  const db = new Database(path);
  const head = (db.prepare('SELECT max(seq) AS n FROM entries').get() as { n: number }).n;
  let t = now();
  const stats = { restoredFrom: 0, rowsRead: 0, dropped: 0, saved: 0 };
  replayTo(db, { seq: head - 50_000 }, { stats });
  console.log(`replayTo(head - 50000): ${ms(t).toFixed(0)} ms, from snapshot ${stats.restoredFrom}, ${stats.rowsRead} rows read (a replay writes no snapshot)`);
  t = now();
  replayTo(db, { seq: head - 50_000 }, { stats });
  console.log(`again: ${ms(t).toFixed(0)} ms, from snapshot ${stats.restoredFrom}, ${stats.rowsRead} rows read`);
  db.close();
  const ro = new Database(path, { readonly: true });
  const rss0 = process.memoryUsage().rss;
  t = now();
  const v = verifyLog(ro);
  console.log(`verify: ${v.ok ? 'ok' : 'BAD'} ${v.entries} entries in ${(ms(t) / 1000).toFixed(1)} s, rss +${((process.memoryUsage().rss - rss0) / 1e6).toFixed(0)} MB`);
  t = now();
  const r = verifyReplay(ro);
  console.log(`replay --verify: ${r.ok ? 'ok' : 'DIFFERS'} ${r.requests} requests in ${(ms(t) / 1000).toFixed(1)} s`);
  ro.close();
}
