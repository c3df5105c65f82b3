import { join } from 'node:path';
import { openLedger } from '../../src/ledger.js';
import type { Request } from '../../src/model/types.js';
import { RawLog } from '../raw.js';
import { ratioRow, type BenchRow } from '../row.js';
import { gc, timeIt } from '../stats.js';
import { PasidWorkload } from '../workload.js';

/** One fixed write workload: the setup, the timed requests in batches, and the rows a ledger wrote for them. */
export interface WriteFixture {
  setup: Request[];
  batches: Request[][];
  /** The log rows of the setup (config first), as objects. */
  setupRows: Record<string, unknown>[];
  /** Per timed batch, the rows of its requests (each request entry with its transitions). */
  batchRows: Record<string, unknown>[][];
  entries: number;
  requests: number;
}

const VMS = 64;
const QUOTA = 1000;

/**
 * Draws the workload once on a scratch ledger (synchronous=OFF) and reads back the
 * rows it wrote: the ceiling inserts exactly these rows. The model is deterministic,
 * so every timed ledger run writes them again, byte for byte but for `at`.
 */
export async function fixture(dir: string, batches: number, perBatch: number): Promise<WriteFixture> {
  const w = new PasidWorkload({ vms: VMS, quota: QUOTA, seed: 0x5eed + perBatch });
  const l = await openLedger(join(dir, `fixture-${perBatch}.db`), { synchronous: 'OFF', pasid_quota: QUOTA });
  const setup = w.setup();
  l.batch(setup);
  const setupSeq = l.head().seq;
  const reqs: Request[][] = [];
  const bounds: number[] = [];
  for (let b = 0; b < batches; b++) {
    const r = perBatch === 1 ? [w.next()] : w.batch(perBatch);
    w.feed(r, l.batch(r));
    reqs.push(r);
    bounds.push(l.head().seq);
  }
  const all = [...l.log.after(0)].map((row) => JSON.parse(row.entry) as Record<string, unknown>);
  l.close();
  const setupRows = all.slice(0, setupSeq);
  const batchRows: Record<string, unknown>[][] = [];
  let from = setupSeq;
  for (const to of bounds) {
    batchRows.push(all.slice(from, to));
    from = to;
  }
  return { setup, batches: reqs, setupRows, batchRows, entries: all.length - setupSeq, requests: batches * perBatch };
}

/** Splits a batch's rows into one group per request (a request entry and the transitions after it). */
function perRequest(rows: Record<string, unknown>[]): Record<string, unknown>[][] {
  const out: Record<string, unknown>[][] = [];
  for (const r of rows) {
    if (r.type === 'request') out.push([r]);
    else out[out.length - 1]!.push(r);
  }
  return out;
}

/** The timed part of one ledger run: returns seconds. */
export async function ledgerRun(path: string, f: WriteFixture, single: boolean): Promise<number> {
  const l = await openLedger(path, { pasid_quota: QUOTA });
  l.batch(f.setup);
  gc();
  const secs = timeIt(() => {
    if (single) for (const b of f.batches) l.request(b[0]!);
    else for (const b of f.batches) l.batch(b);
  });
  const wrote = l.head().seq - f.setupRows.length;
  l.close();
  if (wrote !== f.entries) throw new Error(`bug: the ledger wrote ${wrote} entries, the fixture has ${f.entries}`);
  return secs;
}

/** The timed part of one ceiling run: the same rows, one transaction per request (single) or per batch. */
async function rawRun(path: string, f: WriteFixture, single: boolean): Promise<number> {
  const raw = await RawLog.open(path);
  raw.appendTx([structuredClone(f.setupRows)]);
  const txs = structuredClone(f.batchRows).flatMap((rows) => (single ? perRequest(rows).map((g) => [g]) : [[rows]]));
  gc();
  const secs = timeIt(() => {
    for (const tx of txs) raw.appendTx(tx);
  });
  const wrote = raw.head - f.setupRows.length;
  raw.close();
  if (wrote !== f.entries) throw new Error(`bug: the ceiling wrote ${wrote} entries, the fixture has ${f.entries}`);
  return secs;
}

/**
 * Durable requests per second, one request per transaction (WAL, synchronous=FULL:
 * one fsync each), against raw inserts of the same rows one transaction each.
 * Ledger and ceiling runs alternate (ABBA), so drift on a noisy machine hits both.
 *
 * @example
 * (await durableRow(dir, 1000, 5, console.error)).ratio; // ~1
 */
export async function durableRow(dir: string, requests: number, runs: number, log: (s: string) => void): Promise<BenchRow> {
  const f = await fixture(dir, requests, 1);
  const mine: number[] = [];
  const ceil: number[] = [];
  for (let r = 0; r < runs; r++) {
    // ABBA: the ceiling first in odd runs, so drift on a noisy machine hits both.
    if (r % 2 === 1) ceil.push(f.requests / (await rawRun(join(dir, `durable-raw-${r}.db`), f, true)));
    mine.push(f.requests / (await ledgerRun(join(dir, `durable-ledger-${r}.db`), f, true)));
    if (r % 2 === 0) ceil.push(f.requests / (await rawRun(join(dir, `durable-raw-${r}.db`), f, true)));
    log(`durable run ${r + 1}/${runs}: ledger ${mine[r]!.toFixed(0)} req/s, raw ${ceil[r]!.toFixed(0)} req/s`);
  }
  return ratioRow('durable', 'durable requests/s, 1 per transaction (WAL, synchronous=FULL)', 'req/s', mine, ceil, 0.8,
    `${f.requests} PASID alloc/free requests per run (${(f.entries / f.requests).toFixed(1)} entries each) over ${VMS} vms; ceiling: same rows, 1 transaction each`);
}

/**
 * Entries per second with 1000 requests per `ledger.batch`, against raw inserts of the same rows 1000 requests per transaction.
 *
 * @example
 * (await batchRow(dir, 20, 5, console.error)).ratio;
 */
export async function batchRow(dir: string, batches: number, runs: number, log: (s: string) => void): Promise<BenchRow> {
  const f = await fixture(dir, batches, 1000);
  const mine: number[] = [];
  const ceil: number[] = [];
  for (let r = 0; r < runs; r++) {
    if (r % 2 === 1) ceil.push(f.entries / (await rawRun(join(dir, `batch-raw-${r}.db`), f, false)));
    mine.push(f.entries / (await ledgerRun(join(dir, `batch-ledger-${r}.db`), f, false)));
    if (r % 2 === 0) ceil.push(f.entries / (await rawRun(join(dir, `batch-raw-${r}.db`), f, false)));
    log(`batch run ${r + 1}/${runs}: ledger ${mine[r]!.toFixed(0)} entries/s, raw ${ceil[r]!.toFixed(0)} entries/s`);
  }
  return ratioRow('batch', 'entries/s, 1000 requests per batch (synchronous=FULL)', 'entries/s', mine, ceil, 0.5,
    `${batches} batches of 1000 requests (${f.entries} entries) per run; ceiling: same rows, 1000 requests' rows per transaction`);
}
