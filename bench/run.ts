import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBigLog } from './biglog.js';
import { machineInfo, type MachineInfo } from './machine.js';
import type { BenchRow } from './row.js';
import { allocatorRows } from './rows/allocator.js';
import { exploreRows } from './rows/explore.js';
import { inMemoryRow } from './rows/in_memory.js';
import { memoryRow } from './rows/memory.js';
import { auditRow, replayRow, verifyRow } from './rows/replay.js';
import { reopenRows } from './rows/reopen.js';
import { startupRows } from './rows/startup.js';
import { batchRow, durableRow } from './rows/write.js';
import { fleetRows } from './rows/fleet.js';
import { serveRows, type ServeSizes } from './rows/serve.js';
import { proofRateRow, treeAppendRow, treeMigrationRow } from './rows/tree.js';

/** How big a bench run is. */
export interface BenchSizes {
  /** Runs per write figure (each figure is their median). */
  writeRuns: number;
  /** Runs per read and in-memory figure. */
  readRuns: number;
  durableRequests: number;
  /** Batches of 1000 requests per batch run. */
  batches: number;
  bigLogEntries: number;
  inMemoryRequests: number;
  memoryVms: number;
  memoryPasids: number;
  allocatorChurnOps: number;
  /** Spawns per CLI start-up figure. */
  startupRuns: number;
  /** Entries of the log shipped into PostgreSQL by the fleet rows. */
  fleetEntries: number;
  serve: ServeSizes;
  /** Inclusion+consistency proof pairs per proofs run. */
  proofPairs: number;
}

/**
 * The full bench: about ten minutes on a 2-core machine.
 *
 * @example
 * await runBench(); // uses FULL
 */
export const FULL: BenchSizes = {
  writeRuns: 5, readRuns: 3, durableRequests: 1000, batches: 20, bigLogEntries: 1_000_000,
  inMemoryRequests: 500_000, memoryVms: 1048, memoryPasids: 1000, allocatorChurnOps: 1_000_000, startupRuns: 15,
  fleetEntries: 200_000,
  serve: { runs: 3, seconds: 3, rawRows: 1000, directWriters: 64, directPerWriter: 40 },
  proofPairs: 20_000,
};

/**
 * `--quick`: the same figures on small sizes, a smoke test of a few seconds (its figures mean little).
 *
 * @example
 * await runBench({ quick: true }); // uses QUICK
 */
export const QUICK: BenchSizes = {
  writeRuns: 3, readRuns: 3, durableRequests: 30, batches: 1, bigLogEntries: 5_000,
  inMemoryRequests: 5_000, memoryVms: 8, memoryPasids: 1000, allocatorChurnOps: 20_000, startupRuns: 3,
  fleetEntries: 5_000,
  serve: { runs: 3, seconds: 0.3, rawRows: 100, directWriters: 4, directPerWriter: 4 },
  proofPairs: 2_000,
};

/** Everything one bench run measured: what `--json` prints. */
export interface BenchReport {
  machine: MachineInfo;
  quick: boolean;
  started: string;
  seconds: number;
  sizes: BenchSizes;
  big_log: { entries: number; requests: number; build_seconds: number; synchronous: 'NORMAL' } | null;
  notes: string[];
  rows: BenchRow[];
}

/** The groups of rows `--only` can pick; a run without it measures them all. */
export const BENCH_GROUPS = ['write', 'tree', 'replay', 'proofs', 'in_memory', 'memory', 'reopen', 'allocator', 'startup', 'explore', 'fleet', 'serve'] as const;
export type BenchGroup = typeof BENCH_GROUPS[number];

export interface BenchOptions {
  quick?: boolean;
  /** Only these groups of rows (default: all). */
  only?: readonly BenchGroup[];
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/**
 * Runs the benchmark in a fresh temp dir (removed afterwards) and returns its report.
 *
 * @example
 * const report = await runBench({ quick: true });
 * report.rows.find((r) => r.id === 'durable')!.ratio; // ~0.9
 */
export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const sizes = opts.quick ? QUICK : FULL;
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'pasid-ledger-bench-'));
  const started = new Date();
  const t0 = process.hrtime.bigint();
  try {
    const probe = new Database(':memory:');
    const machine = machineInfo((probe.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v);
    probe.close();
    const rows: BenchRow[] = [];
    log(`bench in ${dir}${opts.quick ? ' (quick)' : ''}`);
    const want = (g: BenchGroup): boolean => opts.only === undefined || opts.only.includes(g);
    if (want('write')) {
      rows.push(await durableRow(dir, sizes.durableRequests, sizes.writeRuns, log));
      rows.push(await batchRow(dir, sizes.batches, sizes.writeRuns, log));
    }
    if (want('tree')) {
      rows.push(await treeAppendRow(dir, sizes.batches, sizes.writeRuns, log));
      rows.push(await treeAppendRow(dir, sizes.durableRequests, sizes.writeRuns, log, false));
    }
    const needsBig = (['replay', 'proofs', 'tree', 'reopen', 'startup', 'explore'] as const).some(want);
    let big: Awaited<ReturnType<typeof buildBigLog>> | undefined;
    if (needsBig) {
      log(`building the ${sizes.bigLogEntries.toLocaleString('en-US')}-entry log (ledger.batch, synchronous=NORMAL)`);
      big = await buildBigLog(join(dir, 'big.db'), sizes.bigLogEntries);
      log(`built ${big.entries} entries (${big.requests} requests) in ${big.seconds.toFixed(1)} s`);
    }
    if (big !== undefined && want('replay')) {
      rows.push(replayRow(big.path, big.entries, sizes.readRuns, log));
      rows.push(verifyRow(big.path, big.entries, sizes.readRuns, log));
      rows.push(auditRow(big.path, big.entries, sizes.readRuns, log));
    }
    if (big !== undefined && want('proofs')) rows.push(proofRateRow(big.path, big.entries, sizes.readRuns, log, sizes.proofPairs));
    if (big !== undefined && want('tree')) rows.push(await treeMigrationRow(big.path, big.entries, sizes.readRuns, dir, log));
    if (want('in_memory')) rows.push(inMemoryRow(sizes.inMemoryRequests, sizes.readRuns, log));
    if (want('memory')) rows.push(memoryRow(sizes.memoryVms, sizes.memoryPasids, sizes.readRuns, log));
    if (big !== undefined && want('reopen')) rows.push(...(await reopenRows(big, sizes.readRuns, log)));
    if (want('allocator')) rows.push(...allocatorRows(sizes.allocatorChurnOps, sizes.readRuns, log));
    if (big !== undefined && want('startup')) rows.push(...startupRows(big.path, sizes.startupRuns, log));
    if (big !== undefined && want('explore')) rows.push(...(await exploreRows(big.path, big.entries, opts.quick ? 5 : 30, log)));
    if (want('fleet')) rows.push(...(await fleetRows(dir, sizes.fleetEntries, sizes.readRuns, log)));
    if (want('serve')) rows.push(...(await serveRows(dir, sizes.serve, log)));

    const notes = [
      `every figure is the median of ${sizes.readRuns === sizes.writeRuns ? sizes.readRuns : `${sizes.readRuns} to ${sizes.writeRuns}`} runs; a ceiling is raw better-sqlite3 in the same run, same file pragmas (WAL, synchronous=FULL), same table made by the project's migrations, same rows (RFC 8785 text, SHA-256 leaf and chain, indexing columns)`,
      ...(big === undefined ? [] : [`the ${big.entries.toLocaleString('en-US')}-entry log was built once with ledger.batch and synchronous=NORMAL to save time (${big.seconds.toFixed(1)} s); reading it does not depend on how it was synced`]),
    ];
    return {
      machine, quick: opts.quick ?? false, started: started.toISOString(), seconds: Number(process.hrtime.bigint() - t0) / 1e9, sizes,
      big_log: big === undefined ? null : { entries: big.entries, requests: big.requests, build_seconds: big.seconds, synchronous: 'NORMAL' }, notes, rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
