import { resolveConfig } from '../../src/config.js';
import { emptyState, type HostState } from '../../src/model/state.js';
import type { HostConfig, Request } from '../../src/model/types.js';
import { applyInMemory } from '../model_run.js';
import { absRow, type BenchRow } from '../row.js';
import { gc, timeIt } from '../stats.js';
import { PasidWorkload } from '../workload.js';

const VMS = 64;

function setupState(config: HostConfig, setup: Request[], at: string): HostState {
  const s = emptyState(config);
  for (const r of setup) applyInMemory(s, r, at);
  return s;
}

/**
 * decide + evolve of PASID requests in memory (no IO, no hashing): the same request
 * stream replayed on a fresh state each run, so every run makes the same decisions.
 *
 * @example
 * inMemoryRow(500_000, 3, console.error).value; // requests/s
 */
export function inMemoryRow(requests: number, runs: number, log: (s: string) => void): BenchRow {
  const config = resolveConfig({}) as HostConfig;
  const w = new PasidWorkload({ vms: VMS, quota: config.pasid_quota, seed: 0x1e4 });
  const at = new Date().toISOString();
  const setup = w.setup();
  const s0 = setupState(config, setup, at);
  const reqs: Request[] = [];
  for (let i = 0; i < requests; i++) {
    const r = w.next();
    w.feed([r], [applyInMemory(s0, r, at)]);
    reqs.push(r);
  }
  const mine: number[] = [];
  for (let r = 0; r < runs; r++) {
    const s = setupState(config, setup, at);
    gc();
    const secs = timeIt(() => {
      for (const q of reqs) applyInMemory(s, q, at);
    });
    if (s.seq !== s0.seq) throw new Error('bug: the in-memory run diverged');
    mine.push(requests / secs);
    log(`in-memory run ${r + 1}/${runs}: ${(requests / secs).toFixed(0)} req/s`);
  }
  return absRow('in_memory', 'decide + evolve of PASID requests in memory, no IO', 'req/s', mine, { kind: 'min', value: 200_000 },
    `${requests.toLocaleString('en-US')} ALLOC/FREE requests over ${VMS} vms per run, entries built as the ledger builds them`);
}
