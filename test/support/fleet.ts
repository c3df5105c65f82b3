import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openLedger, type Ledger } from '../../src/ledger.js';
import { CLI, setupVm, steppingClock, tmpDb } from '../helpers.js';

/** Runs the CLI as a child process (several may run at once); its exit status and output. */
export function cliAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** One query on a fresh connection. */
export async function pgQuery<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/**
 * Allocation traffic: two vms, `rounds` rounds of ALLOC and FREE (with quota denials when
 * a vm reaches its quota of 4), with the stepping clock starting at `start`.
 */
export function traffic(l: Ledger, rounds: number, tag = 0): void {
  const reqs: Array<Record<string, unknown>> = [];
  for (let i = 0; i < rounds; i++) {
    const c = i % 2 === 0 ? 'c1' : 'c2';
    if (i % 7 === 6) reqs.push({ op: 'pasid_free', container: c, pasid: ((i + tag) % 6) + 1 });
    else reqs.push({ op: 'pasid_alloc', container: c, min: 1, max: 0xfffff });
  }
  l.batchUntrusted(reqs);
}

/** A real log on a new file: two vms with a quota of 4 and `rounds` requests of traffic. */
export async function trafficLog(rounds: number, opts: { start?: string; tag?: number; path?: string } = {}): Promise<string> {
  const path = opts.path ?? tmpDb();
  const l = await openLedger(path, { clock: steppingClock(opts.start), pasid_quota: 4 });
  try {
    setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
    setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
    traffic(l, rounds, opts.tag);
  } finally {
    l.close();
  }
  return path;
}

/** Appends `rounds` more requests of traffic to an existing log. */
export async function moreTraffic(path: string, rounds: number, tag = 0): Promise<void> {
  const l = await openLedger(path, { clock: steppingClock('2026-06-01T00:00:00.000Z') });
  try {
    traffic(l, rounds, tag);
  } finally {
    l.close();
  }
}

/** One row's hashed columns, as the shippers copy them. */
export type HashedRow = { seq: number; entry: string; leaf: string; chain: string };

/** The hashed columns of every row of a local log, in seq order (opened read-only). */
export function localRows(path: string): HashedRow[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT seq, entry, leaf, chain FROM entries ORDER BY seq').all() as HashedRow[];
  } finally {
    db.close();
  }
}

/** The hashed columns of every row PostgreSQL holds for `host`, in seq order. */
export async function pgRows(url: string, host: string): Promise<HashedRow[]> {
  return (await pgQuery<HashedRow & { seq: string }>(url, 'SELECT seq, entry, leaf, chain FROM entries WHERE host = $1 ORDER BY seq', [host])).map((r) => ({ ...r, seq: Number(r.seq) }));
}
