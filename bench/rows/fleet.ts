import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { auditLog } from '../../src/audit/audit_log.js';
import { auditHost } from '../../src/fleet/audit.js';
import { EntryLog } from '../../src/store/log.js';
import { connectPg, kyselyPg, migratePg } from '../../src/fleet/pg.js';
import { listHosts } from '../../src/fleet/read.js';
import { shipLog, SKIP_WAL_FLUSH } from '../../src/fleet/ship.js';
import { verifyHost } from '../../src/fleet/verify.js';
import { copyIn, copyText } from '../../src/fleet/copy_in.js';
import { EXPORT_COLUMNS, exportRows } from '../../src/store/export_rows.js';
import { startPgCluster } from '../../test/support/pg_cluster.js';
import { buildBigLog } from '../biglog.js';
import { absRow, ratioRow, type BenchRow } from '../row.js';
import { gc, median } from '../stats.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const COLS = EXPORT_COLUMNS;

function skipped(id: string, figure: string, unit: string, why: string): BenchRow {
  return { id, figure, unit, value: null, runs: [], ceiling: null, ceiling_runs: [], ratio: null, target: { kind: 'none' }, pass: null, note: `skipped: ${why}` };
}

/**
 * How the baselines commit, as the shipper does (src/fleet/ship.ts, appendBatch): every
 * batch but the last without waiting for the WAL flush, the last one durably (which
 * flushes them all). Without it the baselines would pay one WAL flush per batch that the
 * shipper does not.
 */
const commitMode = (from: number, batch: number, entries: number): string =>
  from + batch < entries ? `${SKIP_WAL_FLUSH}; ` : '';

/**
 * The ceiling of copying rows into PostgreSQL: the same rows read from the same SQLite
 * file, batch by batch, written with plain multi-row INSERT ... VALUES (one transaction
 * per batch, committed as the shipper commits) into a table with the same columns, key
 * and indexes but no verification.
 */
async function rawInsert(c: pg.Client, path: string, entries: number, host: string, batch: number): Promise<number> {
  const db = new Database(path, { readonly: true });
  try {
    const t0 = process.hrtime.bigint();
    for (let from = 0; from < entries; from += batch) {
      const rows = exportRows(db, from, Math.min(entries, from + batch));
      const values: unknown[] = [host];
      const tuples: string[] = [];
      for (const r of rows) {
        const base = values.length;
        tuples.push(`($1, ${COLS.map((_, i) => `$${base + i + 1}`).join(', ')})`);
        values.push(...r);
      }
      await c.query(`BEGIN; ${commitMode(from, batch, entries)}`);
      await c.query(`INSERT INTO raw_entries (host, ${COLS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
      await c.query('COMMIT');
    }
    return entries / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    db.close();
  }
}

/**
 * The second ceiling, for a shipper that uses COPY: the same rows read from the same
 * SQLite file, batch by batch, each batch one plain `COPY ... FROM STDIN` (text format, its
 * own transaction, committed as the shipper commits) into the same unchecked table.
 * Nothing recomputed, nothing pipelined.
 */
async function rawCopy(c: pg.Client, path: string, entries: number, host: string, batch: number): Promise<number> {
  const db = new Database(path, { readonly: true });
  try {
    const t0 = process.hrtime.bigint();
    for (let from = 0; from < entries; from += batch) {
      const rows = exportRows(db, from, Math.min(entries, from + batch));
      await copyIn(c, `${commitMode(from, batch, entries)}COPY raw_entries (host, ${COLS.join(', ')}) FROM STDIN`, copyText(host, rows));
    }
    return entries / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    db.close();
  }
}

async function shipOnce(c: pg.Client, path: string, host: string, batch: number): Promise<number> {
  const db = new Database(path, { readonly: true });
  try {
    const t0 = process.hrtime.bigint();
    const r = await shipLog(db, c, { host, batch });
    return r.shipped / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    db.close();
  }
}

function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * The fleet rows: ship rate into a local PostgreSQL against raw multi-row inserts of the
 * same rows (ratio >= 0.5, and >= 50,000 entries/s), `fleet audit` entries/s (>= 100,000),
 * and 8 hosts shipping at once plus a second shipper racing on one host (no duplicate, no
 * gap, every shipper exits 0). Skipped, with the reason, when no PostgreSQL can be started.
 *
 * @example
 * const rows = await fleetRows(dir, 200_000, 3, console.error);
 */
export async function fleetRows(dir: string, entries: number, runs: number, log: (s: string) => void): Promise<BenchRow[]> {
  const cluster = await startPgCluster({ durable: true });
  if (typeof cluster === 'string') {
    log(`fleet rows skipped: ${cluster}`);
    return [
      skipped('ship', 'ship into PostgreSQL (verified on arrival)', 'entries/s', cluster),
      skipped('fleet_audit', 'fleet audit from PostgreSQL', 'entries/s', cluster),
      skipped('fleet_race', '8 hosts shipping at once + a racing shipper', 'entries/s', cluster),
    ];
  }
  try {
    const path = join(dir, 'fleet.db');
    const big = await buildBigLog(path, entries);
    log(`fleet: built a ${big.entries}-entry log; PostgreSQL at ${cluster.url}`);
    const k = kyselyPg(cluster.url);
    await migratePg(k);
    await k.destroy();
    const c = await connectPg(cluster.url);
    const rows: BenchRow[] = [];
    try {
      await c.query('CREATE TABLE raw_entries (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)');
      const mine: number[] = [];
      const ceil: number[] = [];
      const copies: number[] = [];
      for (let r = 0; r < runs; r++) {
        // Alternating order: raw INSERT, raw COPY, ship; then ship, raw COPY, raw INSERT.
        gc();
        if (r % 2 === 0) ceil.push(await rawInsert(c, path, big.entries, `raw-${r}`, 1000));
        if (r % 2 === 0) copies.push(await rawCopy(c, path, big.entries, `copy-${r}`, 1000));
        mine.push(await shipOnce(c, path, `ship-${r}`, 1000));
        if (r % 2 === 1) copies.push(await rawCopy(c, path, big.entries, `copy-${r}`, 1000));
        if (r % 2 === 1) ceil.push(await rawInsert(c, path, big.entries, `raw-${r}`, 1000));
        log(`ship run ${r + 1}/${runs}: ${mine[r]!.toFixed(0)} entries/s, raw multi-row INSERT ${ceil[r]!.toFixed(0)} entries/s, raw COPY ${copies[r]!.toFixed(0)} entries/s`);
      }
      const version = (await c.query('SHOW server_version')).rows[0].server_version;
      const ship = ratioRow('ship', 'ship into PostgreSQL, 1000 per transaction, verified on arrival', 'entries/s', mine, ceil, 0.5,
        `target also >= 50,000 entries/s absolute (${median(mine) >= 50_000 ? 'met' : 'NOT met'}); ceiling: the same rows read from SQLite and written with plain multi-row INSERT into a table of the same key and indexes, no checks (raw COPY of the same rows, same run: ${median(copies).toFixed(0)} entries/s, row ship_vs_copy); the shipper uses COPY; PostgreSQL ${version}, fsync on; shipper and baselines alike commit every batch but the last without waiting for the WAL flush, the last durably`);
      rows.push(ship);
      rows.push(ratioRow('ship_vs_copy', 'ship into PostgreSQL against raw COPY of the same rows', 'entries/s', mine, copies, 0.5,
        `second ceiling: the same rows read from SQLite, each batch of 1000 one plain COPY FROM STDIN (text format) into a table of the same key and indexes, no checks, no pipelining; PostgreSQL ${version}, fsync on; committed as the shipper commits`));

      const size = (await c.query<{ b: number; n: number }>(
        "SELECT pg_total_relation_size('entries')::bigint AS b, (SELECT count(*) FROM entries)::bigint AS n")).rows[0]!;
      rows.push(absRow('fleet_bytes', 'PostgreSQL disk per shipped entry (table, key, 3 indexes, TOAST)', 'bytes', [size.b / size.n], { kind: 'none' },
        `${size.n} rows in entries; pg_total_relation_size`));

      const host = (await listHosts(c, 'ship-0'))[0]!;
      const audits: number[] = [];
      const locals: number[] = [];
      const localDb = new Database(path, { readonly: true });
      try {
        for (let r = 0; r < runs; r++) {
          gc();
          const t0 = process.hrtime.bigint();
          const a = await auditHost(c, host);
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          if (!a.report?.ok || a.report.entries !== big.entries) throw new Error('bug: the fleet audit of the bench log failed');
          audits.push(big.entries / s);
          gc();
          const t1 = process.hrtime.bigint();
          const l = auditLog(new EntryLog(localDb));
          if (!l.ok) throw new Error('bug: the local audit of the bench log failed');
          locals.push(big.entries / (Number(process.hrtime.bigint() - t1) / 1e9));
          log(`fleet audit run ${r + 1}/${runs}: ${audits[r]!.toFixed(0)} entries/s, local audit of the same log ${locals[r]!.toFixed(0)} entries/s`);
        }
      } finally {
        localDb.close();
      }
      rows.push(ratioRow('fleet_audit', 'fleet audit: every invariant at every entry, streamed from PostgreSQL', 'entries/s', audits, locals, 0.5,
        `target also >= 100,000 entries/s absolute (${median(audits) >= 100_000 ? 'met' : 'NOT met'}); ceiling: audit of the same log from its SQLite file, same run; auditHost feeds the same Auditor from keyset pages of 10,000 rows`));

      // 8 hosts at once, a second shipper on host 0: every shipper a process of its own.
      const n = 8;
      for (let i = 0; i < n; i++) copyFileSync(path, join(dir, `race-${i}.db`));
      const t0 = process.hrtime.bigint();
      const procs = [...Array.from({ length: n }, (_, i) => runCli(['ship', '--db', join(dir, `race-${i}.db`), '--to', cluster.url, '--host', `race-${i}`])),
        runCli(['ship', '--db', join(dir, 'race-0.db'), '--to', cluster.url, '--host', 'race-0'])];
      const done = await Promise.all(procs);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const bad = done.filter((d) => d.code !== 0);
      const counts = (await c.query<{ host: string; n: number; max: number }>("SELECT host, count(*)::bigint AS n, max(seq) AS max FROM entries WHERE host LIKE 'race-%' GROUP BY host")).rows;
      const gaps = counts.filter((x) => x.n !== big.entries || x.max !== big.entries).length + (n - counts.length);
      let verified = 0;
      for (const h of await listHosts(c)) if (h.host.startsWith('race-') && (await verifyHost(c, h)).ok) verified++;
      const ok = bad.length === 0 && gaps === 0 && verified === n;
      rows.push({
        ...absRow('fleet_race', `${n} hosts shipping at once + a 2nd shipper racing on one: total`, 'entries/s', [(n * big.entries) / secs], { kind: 'none' },
          `${ok ? 'no duplicate, no gap, every shipper exited 0, fleet verify ok on every host' : `FAILED: ${bad.length} shipper(s) exited non-zero ${bad.map((b) => b.out.trim().split('\n')[0]!.slice(0, 200)).join(' | ')}; ${gaps} host(s) with a gap; ${verified}/${n} verified`}`),
        pass: ok,
      });
    } finally {
      await c.end();
    }
    return rows;
  } finally {
    await cluster.stop();
  }
}
