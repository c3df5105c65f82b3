import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '../../src/ledger.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { MerkleStore } from '../../src/store/tree.js';
import { consistencyPath, inclusionPath } from '../../src/tlog/proof.js';
import { absRow, ratioRow, type BenchRow } from '../row.js';
import { median, prng, timeIt } from '../stats.js';
import { fixture, ledgerRun } from './write.js';

/** A new log file whose `tree_nodes` table is gone: appends then keep no tree (the "without" side). */
async function treelessLog(path: string): Promise<void> {
  const l = await openLedger(path, { pasid_quota: 1000 });
  l.close();
  const db = new Database(path);
  db.exec('DROP TABLE tree_nodes');
  db.close();
}

/**
 * Appends with the Merkle tree kept in each append's transaction against the same
 * ledger on a file without the tree table (alternating runs, ABBA): `batch` is entries
 * per second of `ledger.batch` (1000 requests per transaction), otherwise durable
 * requests per second, one per transaction (one fsync each). Both synchronous=FULL.
 */
export async function treeAppendRow(dir: string, count: number, runs: number, log: (s: string) => void, batch = true): Promise<BenchRow> {
  // A directory of its own: the fixture file name is shared with the write rows'.
  dir = join(dir, batch ? 'tree-batch' : 'tree-durable');
  mkdirSync(dir);
  const f = await fixture(dir, count, batch ? 1000 : 1);
  const per = batch ? f.entries : f.requests;
  const withTree: number[] = [];
  const without: number[] = [];
  for (let r = 0; r < runs; r++) {
    const bare = join(dir, `without-${r}.db`);
    await treelessLog(bare);
    if (r % 2 === 1) without.push(per / (await ledgerRun(bare, f, !batch)));
    withTree.push(per / (await ledgerRun(join(dir, `with-${r}.db`), f, !batch)));
    if (r % 2 === 0) without.push(per / (await ledgerRun(bare, f, !batch)));
    log(`tree append (${batch ? 'batch' : 'durable'}) run ${r + 1}/${runs}: with tree ${withTree[r]!.toFixed(0)}, without ${without[r]!.toFixed(0)} ${batch ? 'entries' : 'req'}/s`);
  }
  return batch
    ? ratioRow('tree_append', 'append with tree vs without: entries/s, 1000 requests per batch', 'entries/s', withTree, without, 0.85,
      `${count} batches of 1000 requests (${f.entries} entries) per run; ceiling: the same ledger on a file without tree_nodes`)
    : ratioRow('tree_append_durable', 'append with tree vs without: durable requests/s, 1 per transaction', 'req/s', withTree, without, 0.85,
      `${count} requests (${f.entries} entries) per run, one fsync each; ceiling: the same ledger on a file without tree_nodes`);
}

/**
 * Inclusion + consistency proofs per second on the big log from the stored tree: each
 * pair is an inclusion proof of a random entry in a random tree size and a
 * consistency proof between two random sizes.
 */
export function proofRateRow(path: string, entries: number, runs: number, log: (s: string) => void, n = 20_000): BenchRow {
  const db = new Database(path, { readonly: true });
  const tree = new MerkleStore(db);
  const rand = prng(0x7ee);
  const pick = (max: number): number => 1 + Math.floor(rand() * max);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const cpu0 = process.cpuUsage();
    const secs = timeIt(() => {
      for (let i = 0; i < n; i++) {
        const size = pick(entries);
        // One read snapshot per pair, as a server answering one request would take.
        tree.snapshot(() => {
          inclusionPath(pick(size) - 1, size, tree.node);
          consistencyPath(pick(size), size, tree.node);
        });
      }
    });
    const cpu = process.cpuUsage(cpu0);
    rates.push(n / secs);
    cpuRates.push(n / ((cpu.user + cpu.system) / 1e6));
    log(`proofs run ${r + 1}/${runs}: ${rates[r]!.toFixed(0)} inclusion+consistency pairs/s (${cpuRates[r]!.toFixed(0)} per CPU second)`);
  }
  db.close();
  return absRow('proofs', `inclusion+consistency proofs/s on the ${entries.toLocaleString('en-US')}-entry log`, 'pairs/s', rates, { kind: 'min', value: 5000 },
    `${n} pairs per run, random entries and sizes, each pair in one read snapshot with O(log n) point reads of tree_nodes; per CPU second (this process's user+system time, insensitive to other load): ${Math.round(median(cpuRates)).toLocaleString('en-US')} pairs/s`);
}

/**
 * How long the tree migration takes on the big log: a copy made to look like a log
 * from before the tree (no tree table, migration not recorded), then migrated and
 * its tree built in chunks, as `pasid-ledger migrate` does.
 */
export async function treeMigrationRow(path: string, entries: number, runs: number, dir: string, log: (s: string) => void): Promise<BenchRow> {
  const copy = join(dir, 'big-before-tree.db');
  copyFileSync(path, copy);
  const secs: number[] = [];
  for (let r = 0; r < runs; r++) {
    // As an older pasid-ledger left it: no tree table, its migration not recorded.
    const raw = new Database(copy);
    raw.exec('DROP TABLE tree_nodes');
    raw.prepare("DELETE FROM kysely_migration WHERE name LIKE '%merkle_tree'").run();
    raw.close();
    const db = new Database(copy);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const t0 = process.hrtime.bigint();
    await migrateToLatest(db, copy);
    const built = new MerkleStore(db).catchUp();
    secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    db.close();
    log(`tree migration run ${r + 1}/${runs}: ${built.to} leaves in ${secs[r]!.toFixed(1)} s`);
  }
  return absRow('tree_migration', `Merkle tree migration of the ${entries.toLocaleString('en-US')}-entry log`, 's', secs, { kind: 'none' },
    'migrateToLatest then the store builds tree_nodes in committed chunks of 50,000 leaves (synchronous=FULL), as `pasid-ledger migrate` does');
}
