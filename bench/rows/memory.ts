import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { absRow, type BenchRow } from '../row.js';

const CHILD = fileURLToPath(new URL('../memory_child.js', import.meta.url));

interface ChildReport { vms: number; per: number; held: number; failed: number; rss: number; heap_used: number; baseline_rss: number; seconds: number }

/**
 * Resident memory of a host with `vms` vms each holding `per` PASIDs, built in memory
 * (1,048 x 1,000: the 20-bit space full), each run in a fresh child process.
 *
 * @example
 * memoryRow(1048, 1000, 3, console.error).value; // MB resident
 */
export function memoryRow(vms: number, per: number, runs: number, log: (s: string) => void): BenchRow {
  const mb: number[] = [];
  let last: ChildReport | null = null;
  for (let r = 0; r < runs; r++) {
    const res = spawnSync(process.execPath, ['--expose-gc', CHILD, String(vms), String(per)], { encoding: 'utf8', timeout: 300_000 });
    if (res.status !== 0) throw new Error(`memory child failed: ${res.stderr || res.error?.message}`);
    const rep = JSON.parse(res.stdout) as ChildReport;
    if (rep.held !== vms * per || rep.failed !== 0) throw new Error(`bug: memory child holds ${rep.held} PASIDs, ${rep.failed} allocs failed`);
    mb.push(rep.rss / 2 ** 20);
    last = rep;
    log(`memory run ${r + 1}/${runs}: ${(rep.rss / 2 ** 20).toFixed(1)} MB resident, ${rep.held} PASIDs in ${rep.seconds.toFixed(1)} s`);
  }
  return absRow('memory', `memory: ${vms.toLocaleString('en-US')} vms x ${per.toLocaleString('en-US')} PASIDs held`, 'MB RSS', mb, { kind: 'max', value: 300 },
    `built by decide/evolve in a fresh process; node alone ${(last!.baseline_rss / 2 ** 20).toFixed(0)} MB, JS heap ${(last!.heap_used / 2 ** 20).toFixed(0)} MB`);
}
