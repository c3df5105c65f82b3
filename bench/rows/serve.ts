import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLedger } from '../../src/ledger.js';
import { RawLog } from '../raw.js';
import { absRow, type BenchRow } from '../row.js';
import { median } from '../stats.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const WORKER = fileURLToPath(new URL('../direct_worker.js', import.meta.url));

/** How big the serve rows are. */
export interface ServeSizes {
  runs: number;
  /** Seconds each client load runs. */
  seconds: number;
  /** Rows of the raw one-row-per-transaction ceiling. */
  rawRows: number;
  /** Library processes writing the file directly (64; fewer in --quick). */
  directWriters: number;
  /** Requests each of them makes. */
  directPerWriter: number;
}

/** The raw ceiling: one request row per BEGIN IMMEDIATE transaction, synchronous=FULL. Returns rows/s and each commit's seconds. */
async function rawCeiling(path: string, rows: number): Promise<{ rate: number; commits: number[] }> {
  const raw = await RawLog.open(path);
  raw.appendTx([[{ seq: 1, at: new Date().toISOString(), type: 'config', format: 1, profile: 'v1', pasid_bits: 20, capacity: 1 << 20, pasid_quota: 1000, pasid_cap_exposure: 'hidden' }]]);
  const commits: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rows; i++) {
    const c0 = process.hrtime.bigint();
    raw.appendTx([[{ seq: 0, at: '', type: 'request', op: 'pasid_alloc', vm: `vm${i % 64}`, req: { op: 'pasid_alloc', container: `c${i % 64}`, min: 1, max: 1048575 }, ret: 0, pasid: i + 1 }]]);
    commits.push(Number(process.hrtime.bigint() - c0) / 1e9);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  raw.close();
  return { rate: rows / secs, commits };
}

function serve(db: string, socket: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--db', db, '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('listening on')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

function post(socket: string, agent: Agent, token: string, body: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const r = request({ socketPath: socket, agent, method: 'POST', path: '/v1/requests', headers: { Authorization: `Bearer ${token}`, 'Content-Length': Buffer.byteLength(text) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    r.on('error', reject);
    r.end(text);
  });
}

/** `clients` keep-alive clients, each its own vm alloc/free-ing, for `seconds`: acknowledged req/s and every latency. */
async function serveRun(dir: string, tag: string, clients: number, seconds: number): Promise<{ rate: number; latencies: number[] }> {
  const db = join(dir, `serve-${tag}.db`);
  const l = await openLedger(db);
  const admin = l.grantToken('admin').secret;
  l.close();
  const socket = join(dir, `serve-${tag}.sock`);
  const child = await serve(db, socket);
  try {
    const agents = Array.from({ length: clients }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    await Promise.all(agents.map((a, i) => post(socket, a, admin, [
      { op: 'vm_start', vm: `vm${i}`, mm: `0x${(i + 1).toString(16)}000` },
      { op: 'container_open', vm: `vm${i}`, container: `c${i}` },
      { op: 'group_attach', container: `c${i}`, group: `g${i}` },
      { op: 'set_iommu', container: `c${i}`, type: 'VFIO_TYPE1_NESTING_IOMMU' },
    ])));
    const latencies: number[] = [];
    let done = 0;
    const until = Date.now() + seconds * 1000;
    const t0 = process.hrtime.bigint();
    await Promise.all(agents.map(async (a, i) => {
      let held: number | null = null;
      while (Date.now() < until) {
        const c0 = process.hrtime.bigint();
        const r: { status: number; json: any } = held === null
          ? await post(socket, a, admin, { op: 'pasid_alloc', container: `c${i}`, min: 1, max: 0xfffff })
          : await post(socket, a, admin, { op: 'pasid_free', container: `c${i}`, pasid: held });
        latencies.push(Number(process.hrtime.bigint() - c0) / 1e9);
        if (r.status !== 200) throw new Error(`serve bench: ${r.status} ${JSON.stringify(r.json)}`);
        held = held === null ? r.json.pasid : null;
        done++;
      }
    }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const a of agents) a.destroy();
    return { rate: done / secs, latencies };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** 64 library processes writing the file directly, one request per transaction: total req/s from the first start to the last end. */
async function directRun(dir: string, tag: string, writers: number, perWriter: number): Promise<number> {
  const db = join(dir, `direct-${tag}.db`);
  (await openLedger(db)).close();
  const kids = Array.from({ length: writers }, (_, i) => spawn(process.execPath, [WORKER, db, String(i), String(perWriter)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = kids.map((k) => {
    let out = '';
    const ready = new Promise<void>((resolve) => k.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('ready\n')) resolve();
    }));
    const result = new Promise<{ start: number; end: number; n: number }>((resolve, reject) => k.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`direct writer exited ${code}`));
      resolve(JSON.parse(out.split('\n')[1]!));
    }));
    return { ready, result };
  });
  await Promise.all(lines.map((x) => x.ready));
  for (const k of kids) k.stdin!.write('go\n');
  const results = await Promise.all(lines.map((x) => x.result));
  const start = Math.min(...results.map((r) => r.start));
  const end = Math.max(...results.map((r) => r.end));
  return results.reduce((n, r) => n + r.n, 0) / ((end - start) / 1000);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * `pasid-ledger serve` under 1, 8 and 64 keep-alive clients over its Unix socket (each
 * client its own vm, alloc/free), against the raw ceiling (one row per transaction,
 * synchronous=FULL) and against 64 library processes writing the file directly; p50
 * and p99 latency at 64 clients as multiples of the raw commit median. Same run.
 *
 * @example
 * const rows = await serveRows(dir, { runs: 3, seconds: 2, rawRows: 1000, directWriters: 64, directPerWriter: 40 }, console.error);
 */
export async function serveRows(dir: string, z: ServeSizes, log: (s: string) => void): Promise<BenchRow[]> {
  const raw: number[] = [];
  const commitMedians: number[] = [];
  const by: Record<number, number[]> = { 1: [], 8: [], 64: [] };
  const lat64: number[][] = [];
  const direct: number[] = [];
  for (let r = 0; r < z.runs; r++) {
    const c = await rawCeiling(join(dir, `serve-raw-${r}.db`), z.rawRows);
    raw.push(c.rate);
    commitMedians.push(median(c.commits));
    for (const n of [1, 8, 64]) {
      const s = await serveRun(dir, `${n}-${r}`, n, z.seconds);
      by[n]!.push(s.rate);
      if (n === 64) lat64.push(s.latencies);
    }
    direct.push(await directRun(dir, String(r), z.directWriters, z.directPerWriter));
    log(`serve run ${r + 1}/${z.runs}: raw ${raw[r]!.toFixed(0)} rows/s (commit median ${(commitMedians[r]! * 1e3).toFixed(2)} ms); served 1/8/64 clients ${by[1]![r]!.toFixed(0)}/${by[8]![r]!.toFixed(0)}/${by[64]![r]!.toFixed(0)} req/s; ${z.directWriters} direct writers ${direct[r]!.toFixed(0)} req/s`);
  }
  const rawMed = median(raw);
  const commitMed = median(commitMedians);
  const rows: BenchRow[] = [];
  for (const n of [1, 8, 64]) {
    const value = median(by[n]!);
    const ratio = value / rawMed;
    rows.push({
      id: `serve-${n}`, figure: `serve: acknowledged req/s, ${n} client${n > 1 ? 's' : ''} (keep-alive, Unix socket)`, unit: 'req/s', value, runs: by[n]!,
      ceiling: rawMed, ceiling_runs: raw, ratio, target: n === 64 ? { kind: 'ratio', min: 2 } : { kind: 'none' }, pass: n === 64 ? ratio >= 2 : null,
      note: 'ceiling: raw better-sqlite3, one request row per transaction, synchronous=FULL; each client its own vm alloc/free-ing; group commit',
    });
  }
  const v64 = median(by[64]!);
  const d = median(direct);
  rows.push({
    id: 'serve-64-vs-direct', figure: `serve at 64 clients vs ${z.directWriters} library processes writing the file directly`, unit: 'req/s', value: v64, runs: by[64]!,
    ceiling: d, ceiling_runs: direct, ratio: v64 / d, target: { kind: 'ratio', min: 5 }, pass: v64 / d >= 5,
    note: `the "ceiling" column here is the ${z.directWriters} direct writers (${z.directPerWriter} requests each, one per transaction; lock back-off and catch-up)`,
  });
  const p50 = median(lat64.map((l) => quantile(l, 0.5))) / commitMed;
  const p99 = median(lat64.map((l) => quantile(l, 0.99))) / commitMed;
  rows.push(absRow('serve-64-p50', 'serve at 64 clients: p50 latency / raw commit median', 'x commit', lat64.map((l) => quantile(l, 0.5) / commitMed), { kind: 'none' }, `raw commit median ${(commitMed * 1e3).toFixed(2)} ms`));
  rows.push(absRow('serve-64-p99', 'serve at 64 clients: p99 latency / raw commit median', 'x commit', lat64.map((l) => quantile(l, 0.99) / commitMed), { kind: 'max', value: 10 }, `p50 ${p50.toFixed(1)}x, p99 ${p99.toFixed(1)}x the raw commit median`));
  return rows;
}
