import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLedger, type Ledger, type LedgerOptions } from '../src/ledger.js';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, removed at process exit. */
export function tmpDir(prefix = 'pasid-ledger-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A path for a new SQLite file in a fresh temp dir. */
export function tmpDb(name = 'ledger.db'): string {
  return join(tmpDir(), name);
}

/** A clock that starts at `start` and moves one second per call: entries get distinct, known times. */
export function steppingClock(start = '2026-01-01T00:00:00.000Z'): () => Date {
  let t = Date.parse(start);
  return () => new Date((t += 1000) - 1000);
}

/** A ledger on a new real SQLite file with a stepping clock. */
export async function freshLedger(opts: LedgerOptions = {}): Promise<Ledger> {
  return openLedger(tmpDb(), { clock: steppingClock(), ...opts });
}

/** The compiled CLI entry point (tests run from dist/test). */
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * A host with one running vm, one container with one group and its IOMMU set: the
 * usual starting point of a PASID request test.
 */
export function setupVm(l: Ledger, vm = 'vm1', mm = '0x1000', container = 'c1', group = 'g1', type = 'VFIO_TYPE1_NESTING_IOMMU'): void {
  l.request({ op: 'vm_start', vm, mm });
  l.request({ op: 'container_open', vm, container });
  l.request({ op: 'group_attach', container, group });
  l.request({ op: 'set_iommu', container, type });
}

/** mulberry32: a small seeded PRNG, so a randomized test feeds the same inputs every run. Returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RFC 4180 rows of a CSV text (quoted cells may hold commas, quotes and newlines): to read the audit's CSV back. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') q = false; else cell += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += ch;
  }
  return rows;
}
